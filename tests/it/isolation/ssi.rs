//! SERIALIZABLE.

use super::harness::*;
