//! R7 Refusal review inbox: the refusals waiting for a manager's decision, oldest first.
