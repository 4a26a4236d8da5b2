//! Harness for fencekit's end-to-end tests.
