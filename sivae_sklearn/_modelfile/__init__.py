"""The model file: the ``.npz`` format with its schema, without pickle and without the estimator."""
