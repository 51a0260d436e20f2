"""Training DIC: losses, schedules, the TF train step, validation and logging."""
