//! pgvector's functions: distances (`l2_distance`, `inner_product`,
//! `cosine_distance`, `l1_distance`), `vector_dims`, `vector_norm`,
//! `l2_normalize`, `subvector`. The arithmetic lives in
//! [`crate::value::vector`].

use super::{int, undefined_function};
use crate::error::SqlError;
use crate::value::vector;
use crate::value::{DataType, Value};

fn is_vec(t: &DataType) -> bool {
    matches!(t, DataType::Vector(_) | DataType::Unknown)
}

/// The declared type of argument `i` of `name`, so that an untyped
/// literal binds as a vector (`l2_distance(e, '[1,2]')`).
pub(super) fn parameter(name: &str, i: usize) -> Option<DataType> {
    match (name, i) {
        ("l2_distance" | "inner_product" | "cosine_distance" | "l1_distance", 0 | 1)
        | ("vector_dims" | "vector_norm" | "l2_normalize" | "subvector", 0) => {
            Some(DataType::Vector(None))
        }
        _ => None,
    }
}

/// The result type of `name(a…)` if this family has such a function.
pub(super) fn return_type(name: &str, a: &[DataType]) -> Option<DataType> {
    use DataType as T;
    Some(match (name, a) {
        ("l2_distance" | "inner_product" | "cosine_distance" | "l1_distance", [x, y])
            if is_vec(x) && is_vec(y) =>
        {
            T::Float8
        }
        ("vector_dims", [x]) if is_vec(x) => T::Int4,
        ("vector_norm", [x]) if is_vec(x) => T::Float8,
        ("l2_normalize", [x]) if is_vec(x) => T::Vector(None),
        ("subvector", [x, s, c]) if is_vec(x) && s.is_integer() && c.is_integer() => {
            T::Vector(None)
        }
        _ => return None,
    })
}

fn vec_arg<'v>(name: &str, a: &'v [Value], i: usize) -> Result<&'v [f32], SqlError> {
    match &a[i] {
        Value::Vector(v) => Ok(v),
        _ => Err(undefined_function(
            name,
            &a.iter().map(Value::data_type).collect::<Vec<_>>(),
        )),
    }
}

/// Evaluates `lname(a…)`, which [`return_type`] accepted (no NULL
/// arguments: all of these are strict).
pub(super) fn call(lname: &str, a: &[Value]) -> Result<Value, SqlError> {
    let x = vec_arg(lname, a, 0)?;
    Ok(match lname {
        "l2_distance" => Value::Float8(vector::l2_distance(x, vec_arg(lname, a, 1)?)?),
        "inner_product" => Value::Float8(vector::inner_product(x, vec_arg(lname, a, 1)?)?),
        "cosine_distance" => Value::Float8(vector::cosine_distance(x, vec_arg(lname, a, 1)?)?),
        "l1_distance" => Value::Float8(vector::l1_distance(x, vec_arg(lname, a, 1)?)?),
        "vector_dims" => Value::Int4(x.len() as i32),
        "vector_norm" => Value::Float8(vector::norm(x)),
        "l2_normalize" => Value::Vector(vector::l2_normalize(x)?),
        "subvector" => Value::Vector(vector::subvector(x, int(&a[1])?, int(&a[2])?)?),
        _ => {
            return Err(undefined_function(
                lname,
                &a.iter().map(Value::data_type).collect::<Vec<_>>(),
            ))
        }
    })
}
