"""The distillation wizard: label terms with a teacher once, review, fine-tune, validate, activate."""
