//! molt-state
