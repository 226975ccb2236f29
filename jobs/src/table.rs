//! The numeric columns of a CSV with a header row: a column is numeric when every
//! non-empty cell in it parses as a number; the others are left out.

use std::io::Read;

/// The numeric columns, by name, with their values row by row (empty cells are `None`).
pub struct Table {
    pub names: Vec<String>,
    pub columns: Vec<Vec<Option<f64>>>,
    pub rows: usize,
}

pub fn read(input: impl Read) -> Result<Table, csv::Error> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let names: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::new(); names.len()];
    let mut numeric = vec![true; names.len()];
    let mut rows = 0;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        rows += 1;
        for (i, cell) in record.iter().enumerate() {
            if !numeric[i] {
                continue;
            }
            let cell = cell.trim();
            if cell.is_empty() {
                columns[i].push(None);
            } else if let Ok(value) = cell.parse::<f64>() {
                columns[i].push(Some(value));
            } else {
                numeric[i] = false;
                columns[i] = Vec::new();
            }
        }
    }
    let (names, columns) = names
        .into_iter()
        .zip(columns)
        .zip(numeric)
        .filter_map(|(column, numeric)| numeric.then_some(column))
        .unzip();
    Ok(Table {
        names,
        columns,
        rows,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_columns_are_left_out_and_empty_cells_kept_as_gaps() {
        let csv = "name,age,score\nann,31,0.5\nbob,,1.5\n";
        let table = super::read(csv.as_bytes()).unwrap();
        assert_eq!(table.names, ["age", "score"]);
        assert_eq!(table.rows, 2);
        assert_eq!(table.columns[0], [Some(31.0), None]);
        assert_eq!(table.columns[1], [Some(0.5), Some(1.5)]);
    }
}
