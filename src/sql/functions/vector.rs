//! pgvector's functions: distances (`l2_distance`, `inner_product`,
//! `cosine_distance`, `l1_distance`), `vector_dims`, `vector_norm`,
//! `l2_normalize`, `subvector`, over `vector` and `halfvec`;
//! `binary_quantize`, `hamming_distance`, `jaccard_distance` over `bit`.
//! The arithmetic lives in [`crate::value::vector`] and
//! [`crate::value::bits`].

use super::{int, undefined_function};
use crate::error::SqlError;
use crate::value::bits::{self, BitString};
use crate::value::vector;
use crate::value::{DataType, Value};

fn is_vec(t: &DataType) -> bool {
    matches!(t, DataType::Vector(_) | DataType::Unknown)
}

fn is_half(t: &DataType) -> bool {
    matches!(t, DataType::HalfVec(_))
}

fn is_float_vec(t: &DataType) -> bool {
    is_vec(t) || is_half(t)
}

fn is_bit(t: &DataType) -> bool {
    matches!(t, DataType::Bit(_) | DataType::Unknown)
}

/// The default type of argument `i` of `name`, so that an untyped
/// literal binds as a vector (`l2_distance(e, '[1,2]')`) or a bit string
/// (`hamming_distance(b, '101')`); the binder prefers the type of a
/// typed vector argument beside it (a halfvec).
pub(super) fn parameter(name: &str, i: usize) -> Option<DataType> {
    match (name, i) {
        ("l2_distance" | "inner_product" | "cosine_distance" | "l1_distance", 0 | 1)
        | (
            "vector_dims" | "vector_norm" | "l2_norm" | "l2_normalize" | "subvector"
            | "binary_quantize",
            0,
        ) => Some(DataType::Vector(None)),
        ("hamming_distance" | "jaccard_distance", 0 | 1) | ("bit_count", 0) => {
            Some(DataType::Bit(None))
        }
        _ => None,
    }
}

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    Some(match (name, a) {
        ("l2_distance" | "inner_product" | "cosine_distance" | "l1_distance", [x, y])
            if is_float_vec(x) && is_float_vec(y) =>
        {
            T::Float8
        }
        ("hamming_distance" | "jaccard_distance", [x, y]) if is_bit(x) && is_bit(y) => T::Float8,
        ("bit_count", [x]) if is_bit(x) => T::Int8,
        ("vector_dims", [x]) if is_float_vec(x) => T::Int4,
        ("vector_norm", [x]) if is_vec(x) => T::Float8,
        ("l2_norm", [x]) if is_float_vec(x) => T::Float8,
        ("l2_normalize", [x]) if is_half(x) => T::HalfVec(None),
        ("l2_normalize", [x]) if is_vec(x) => T::Vector(None),
        ("binary_quantize", [x]) if is_float_vec(x) => T::Bit(None),
        ("subvector", [x, s, c]) if is_float_vec(x) && s.is_integer() && c.is_integer() => {
            if is_half(x) {
                T::HalfVec(None)
            } else {
                T::Vector(None)
            }
        }
        _ => return None,
    })
}

fn no_function(name: &str, a: &[Value]) -> SqlError {
    undefined_function(name, &a.iter().map(Value::data_type).collect::<Vec<_>>())
}

fn vec_arg<'v>(name: &str, a: &'v [Value], i: usize) -> Result<&'v [f32], SqlError> {
    match &a[i] {
        Value::Vector(v) | Value::HalfVec(v) => Ok(v),
        _ => Err(no_function(name, a)),
    }
}

fn bit_arg<'v>(name: &str, a: &'v [Value], i: usize) -> Result<&'v BitString, SqlError> {
    match &a[i] {
        Value::Bit(b) => Ok(b),
        _ => Err(no_function(name, a)),
    }
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments: all of these are strict).
pub(super) fn call(lname: &str, a: &[Value]) -> Result<Value, SqlError> {
    match lname {
        "hamming_distance" => {
            return Ok(Value::Float8(bits::hamming_distance(
                bit_arg(lname, a, 0)?,
                bit_arg(lname, a, 1)?,
            )?))
        }
        "jaccard_distance" => {
            return Ok(Value::Float8(bits::jaccard_distance(
                bit_arg(lname, a, 0)?,
                bit_arg(lname, a, 1)?,
            )?))
        }
        "bit_count" => return Ok(Value::Int8(bit_arg(lname, a, 0)?.count_ones() as i64)),
        _ => {}
    }
    // A vector beside a halfvec is cast to halfvec (pgvector's implicit
    // cast; halfvec to vector is only an assignment cast).
    if let [Value::HalfVec(_), Value::Vector(v)] | [Value::Vector(v), Value::HalfVec(_)] = a {
        let h = Value::HalfVec(bits::to_halfvec(v)?);
        let args = match &a[0] {
            Value::Vector(_) => [h, a[1].clone()],
            _ => [a[0].clone(), h],
        };
        return call(lname, &args);
    }
    let half = matches!(a[0], Value::HalfVec(_));
    // Results of halfvec functions are halfvecs again (rounded to f16).
    let wrap = |v: Vec<f32>| -> Result<Value, SqlError> {
        Ok(if half {
            Value::HalfVec(bits::to_halfvec(&v)?)
        } else {
            Value::Vector(v)
        })
    };
    let x = vec_arg(lname, a, 0)?;
    Ok(match lname {
        "l2_distance" => Value::Float8(vector::l2_distance(x, vec_arg(lname, a, 1)?)?),
        "inner_product" => Value::Float8(vector::inner_product(x, vec_arg(lname, a, 1)?)?),
        "cosine_distance" => Value::Float8(vector::cosine_distance(x, vec_arg(lname, a, 1)?)?),
        "l1_distance" => Value::Float8(vector::l1_distance(x, vec_arg(lname, a, 1)?)?),
        "vector_dims" => Value::Int4(x.len() as i32),
        "vector_norm" | "l2_norm" => Value::Float8(vector::norm(x)),
        "l2_normalize" => wrap(vector::l2_normalize(x)?)?,
        "subvector" => wrap(vector::subvector(x, int(&a[1])?, int(&a[2])?)?)?,
        "binary_quantize" => Value::Bit(bits::binary_quantize(x)),
        _ => return Err(no_function(lname, a)),
    })
}
