//! Logistic regression by batch gradient descent over a CSV's numeric columns: the label
//! is one column of 0s and 1s, the features are the others, standardized. The result is
//! the model: its weights in the original units, so that it can be used without the
//! training data.

use crate::table::Table;
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct Options {
    /// The label column; the last numeric column when `None`.
    pub label: Option<String>,
    pub epochs: usize,
    pub learning_rate: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            label: None,
            epochs: 200,
            learning_rate: 0.5,
        }
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Model {
    pub label: String,
    pub features: Vec<String>,
    /// One weight per feature, in the features' own units.
    pub weights: Vec<f64>,
    pub bias: f64,
    /// Rows used: those with a label and every feature.
    pub rows: usize,
    pub epochs: usize,
    /// The share of the training rows the model classifies right.
    pub training_accuracy: f64,
}

pub fn train(table: &Table, options: &Options) -> Result<Model, String> {
    let label = match &options.label {
        Some(name) => table
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("no numeric column {name:?}"))?,
        None => table
            .names
            .len()
            .checked_sub(1)
            .ok_or("the CSV has no numeric column")?,
    };
    let features: Vec<usize> = (0..table.names.len()).filter(|&i| i != label).collect();
    // Complete rows only.
    let mut x: Vec<Vec<f64>> = Vec::new();
    let mut y: Vec<f64> = Vec::new();
    for row in 0..table.rows {
        let Some(target) = table.columns[label][row] else {
            continue;
        };
        let values: Option<Vec<f64>> = features.iter().map(|&f| table.columns[f][row]).collect();
        if let Some(values) = values {
            if target != 0.0 && target != 1.0 {
                return Err(format!(
                    "label {:?} has the value {target}; it must be 0 or 1",
                    table.names[label]
                ));
            }
            x.push(values);
            y.push(target);
        }
    }
    let n = x.len();
    if n == 0 {
        return Err("no row has a label and every feature".into());
    }
    let d = features.len();
    // Standardize each feature, so one learning rate suits all of them.
    let mut mean = vec![0.0; d];
    let mut scale = vec![0.0; d];
    for j in 0..d {
        mean[j] = x.iter().map(|r| r[j]).sum::<f64>() / n as f64;
        let variance = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
        scale[j] = if variance > 0.0 { variance.sqrt() } else { 1.0 };
    }
    for row in &mut x {
        for j in 0..d {
            row[j] = (row[j] - mean[j]) / scale[j];
        }
    }
    let mut w = vec![0.0; d];
    let mut b = 0.0;
    let mut gradient = vec![0.0; d];
    for _ in 0..options.epochs {
        gradient.iter_mut().for_each(|g| *g = 0.0);
        let mut gradient_b = 0.0;
        for (row, &target) in x.iter().zip(&y) {
            let error = sigmoid(dot(&w, row) + b) - target;
            for (g, v) in gradient.iter_mut().zip(row) {
                *g += error * v;
            }
            gradient_b += error;
        }
        for (weight, g) in w.iter_mut().zip(&gradient) {
            *weight -= options.learning_rate * g / n as f64;
        }
        b -= options.learning_rate * gradient_b / n as f64;
    }
    let right = x
        .iter()
        .zip(&y)
        .filter(|(row, &target)| (sigmoid(dot(&w, row) + b) >= 0.5) == (target == 1.0))
        .count();
    // Back to the original units: w·((v − mean)/scale) + b = (w/scale)·v + (b − Σ w·mean/scale).
    let weights: Vec<f64> = (0..d).map(|j| w[j] / scale[j]).collect();
    let bias = b - (0..d).map(|j| weights[j] * mean[j]).sum::<f64>();
    Ok(Model {
        label: table.names[label].clone(),
        features: features.iter().map(|&f| table.names[f].clone()).collect(),
        weights,
        bias,
        rows: n,
        epochs: options.epochs,
        training_accuracy: right as f64 / n as f64,
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_learns_a_separable_rule() {
        // slept well (1) when hours > 7, whatever the noise column says.
        let mut csv = String::from("hours,noise,slept_well\n");
        for i in 0..200 {
            let hours = 4.0 + (i % 50) as f64 * 0.1;
            let noise = ((i * 37) % 11) as f64;
            csv += &format!("{hours},{noise},{}\n", u8::from(hours > 7.0));
        }
        let table = crate::table::read(csv.as_bytes()).unwrap();
        let model = train(
            &table,
            &Options {
                epochs: 500,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(model.features, ["hours", "noise"]);
        assert!(model.training_accuracy > 0.95, "{model:?}");
        assert!(model.weights[0] > 0.0 && model.weights[0].abs() > 10.0 * model.weights[1].abs());
        // The decision boundary sits near 7 hours.
        let boundary = -(model.bias + model.weights[1] * 5.0) / model.weights[0];
        assert!((boundary - 7.0).abs() < 0.3, "{boundary}");
    }

    #[test]
    fn a_label_that_is_not_zero_or_one_is_refused() {
        let table = crate::table::read("a,b\n1,2\n".as_bytes()).unwrap();
        assert!(train(&table, &Options::default())
            .unwrap_err()
            .contains("0 or 1"));
    }
}
