//! Lock behaviours across sessions.

use super::harness::*;
