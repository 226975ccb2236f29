//! Column statistics: count, mean, min, max and a histogram of each numeric column.

use crate::table::Table;
use serde::Serialize;

#[derive(Debug, Serialize, PartialEq)]
pub struct ColumnStats {
    pub name: String,
    /// Non-empty cells.
    pub count: usize,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `bins` equal-width bins over [min, max]; the maximum falls in the last bin.
    pub histogram: Vec<usize>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Stats {
    pub rows: usize,
    pub columns: Vec<ColumnStats>,
}

pub fn of(table: &Table, bins: usize) -> Stats {
    let bins = bins.max(1);
    let columns = table
        .names
        .iter()
        .zip(&table.columns)
        .map(|(name, cells)| {
            let values: Vec<f64> = cells.iter().flatten().copied().collect();
            let count = values.len();
            let min = values.iter().copied().reduce(f64::min);
            let max = values.iter().copied().reduce(f64::max);
            let mean = (count > 0).then(|| values.iter().sum::<f64>() / count as f64);
            let mut histogram = vec![0; bins];
            if let (Some(lo), Some(hi)) = (min, max) {
                let width = (hi - lo) / bins as f64;
                for value in &values {
                    let bin = if width > 0.0 {
                        (((value - lo) / width) as usize).min(bins - 1)
                    } else {
                        0
                    };
                    histogram[bin] += 1;
                }
            }
            ColumnStats {
                name: name.clone(),
                count,
                mean,
                min,
                max,
                histogram,
            }
        })
        .collect();
    Stats {
        rows: table.rows,
        columns,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statistics_of_a_small_table() {
        let csv = "hours,mood\n6,1\n8,\n7,3\n9,2\n";
        let stats = super::of(&crate::table::read(csv.as_bytes()).unwrap(), 3);
        assert_eq!(stats.rows, 4);
        let hours = &stats.columns[0];
        assert_eq!(
            (hours.count, hours.min, hours.max),
            (4, Some(6.0), Some(9.0))
        );
        assert_eq!(hours.mean, Some(7.5));
        assert_eq!(hours.histogram, [1, 1, 2]);
        assert_eq!(stats.columns[1].count, 3);
    }
}
