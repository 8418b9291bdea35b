"""The scikit-learn estimator: the :class:`~sivae_sklearn.SiVAE` class (``sivae``), the checks of its
inputs (``validation``), and the parts of its API kept in their own modules: ``interpretation``,
``supervision`` (conditions and class labels) and ``persistence`` (pickling and model files).
"""
