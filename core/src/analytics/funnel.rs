//! The funnel (leads per status) and speed to lead (median minutes from creation to first attempt).
