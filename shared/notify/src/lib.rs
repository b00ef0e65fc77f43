//! Notice delivery.
