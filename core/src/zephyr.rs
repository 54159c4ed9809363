//! Zephyr topology.
