"""Arrays: NumPy and SciPy only, no TensorFlow and no estimator.

``rows`` reads rows of dense, sparse or on-disk matrices in batches without
densifying them, ``feature_inputs`` reduces the columns into the input of the
feature-wise encoder, ``feature_scores`` is the interpretation maths (loadings,
feature awareness, variance explained, neighbours, hubs) and ``images`` views
rows of features as grey or colour images.
"""
