//! Commands that record events, validated first (R3, R4, R7): either all events of a command or a typed error naming the field; nothing is half-written.
