"""The engine: TensorFlow only, knows nothing of scikit-learn, AnnData or plotting.

``network`` holds the variables of the sample-wise and feature-wise VAEs,
``likelihoods`` the observation models, ``model`` the forward pass and the loss,
``training`` the compiled training loop (with ``progress`` for its reports) and
``inference`` the compiled embedding, decoding and scoring of a trained network.
"""
