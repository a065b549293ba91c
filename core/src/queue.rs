//! R6 Daily call queue.
