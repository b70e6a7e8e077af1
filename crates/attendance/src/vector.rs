//! What makes a posted vector acceptable: the served model's name, version and dimension, finite
//! values, unit norm. Both backends answer a failure as `InvalidEmbedding` with this message.

use std::fmt;

/// How far from 1 a vector's norm may be: browsers' f32 arithmetic and JSON's decimal digits
/// shift it by ~1e-7; anything past 1e-3 was not normalized.
pub const NORM_TOLERANCE: f64 = 1e-3;

/// What the backend serves: each model's name and dimension, and the weights' version.
#[derive(Debug, Clone, PartialEq)]
pub struct Served<'a> {
    /// (model name, vector length), e.g. `("facenet", 128)`.
    pub models: &'a [(String, usize)],
    /// The served weights' short sha256 every vector must carry.
    pub version: &'a str,
}

/// Why a vector was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum VectorError {
    /// No served model of that name (the names this backend takes, sorted).
    UnknownModel(String, Vec<String>),
    /// No `model_version` given.
    NoVersion,
    /// Another version than the served one (given, served).
    OtherVersion(String, String),
    /// The wrong length (model, expected, got).
    Dimension(String, usize, usize),
    /// The value at this index is NaN or infinite.
    NotFinite(usize),
    /// Its norm, too far from 1.
    Norm(f64),
}

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VectorError::UnknownModel(model, known) => {
                write!(f, "unknown model_name {model:?}; this server takes {}", known.join(", "))
            }
            VectorError::NoVersion => f.write_str("model_version is required"),
            VectorError::OtherVersion(given, served) => write!(
                f,
                "model_version {given:?} is not the served model's {served:?}: reload the page to get the current model"
            ),
            VectorError::Dimension(model, expected, got) => {
                write!(f, "{model} vectors have {expected} values, got {got}")
            }
            VectorError::NotFinite(i) => write!(f, "value {i} is not a finite number"),
            VectorError::Norm(norm) => write!(f, "norm is {norm:.6}; embeddings are unit vectors (1 ± 0.001)"),
        }
    }
}

impl std::error::Error for VectorError {}

/// Checks a posted vector against the served model: name, version, dimension, finiteness, norm;
/// the vector as stored (f32).
pub fn validate(
    served: &Served<'_>,
    model: &str,
    version: Option<&str>,
    values: &[f64],
) -> Result<Vec<f32>, VectorError> {
    let Some(&(_, dimension)) = served.models.iter().find(|(name, _)| name == model) else {
        let mut known: Vec<String> = served.models.iter().map(|(name, _)| name.clone()).collect();
        known.sort_unstable();
        return Err(VectorError::UnknownModel(model.to_string(), known));
    };
    match version {
        None => return Err(VectorError::NoVersion),
        Some(v) if v != served.version => {
            return Err(VectorError::OtherVersion(v.to_string(), served.version.to_string()))
        }
        Some(_) => {}
    }
    if values.len() != dimension {
        return Err(VectorError::Dimension(model.to_string(), dimension, values.len()));
    }
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        return Err(VectorError::NotFinite(i));
    }
    let norm = values.iter().map(|x| x * x).sum::<f64>().sqrt();
    if (norm - 1.0).abs() > NORM_TOLERANCE {
        return Err(VectorError::Norm(norm));
    }
    Ok(values.iter().map(|&x| x as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_refuses_with_its_own_error() {
        let models = [("facenet".to_string(), 2), ("facenet512".to_string(), 3)];
        let served = Served { models: &models, version: "abc" };
        let unit = [0.6, 0.8];
        assert_eq!(validate(&served, "facenet", Some("abc"), &unit), Ok(vec![0.6, 0.8]));
        let error = |m, v, x: &[f64]| validate(&served, m, v, x).unwrap_err();
        assert_eq!(
            error("arcface", Some("abc"), &unit).to_string(),
            "unknown model_name \"arcface\"; this server takes facenet, facenet512"
        );
        assert_eq!(error("facenet", None, &unit), VectorError::NoVersion);
        assert!(matches!(error("facenet", Some("old"), &unit), VectorError::OtherVersion(..)));
        assert_eq!(error("facenet512", Some("abc"), &unit), VectorError::Dimension("facenet512".into(), 3, 2));
        assert_eq!(error("facenet", Some("abc"), &[f64::NAN, 1.0]), VectorError::NotFinite(0));
        assert_eq!(
            error("facenet", Some("abc"), &[1.2, 1.6]).to_string(),
            "norm is 2.000000; embeddings are unit vectors (1 ± 0.001)"
        );
    }
}
