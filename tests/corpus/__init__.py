"""The bad-input corpus: hostile or broken inputs for every entry point, with the error each must raise."""
