"""scikit-learn's own estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sivae_sklearn import SiVAE


@parametrize_with_checks(
    [SiVAE(hidden_layer_sizes=(8,), max_epochs=3, kl_warmup_steps=2, random_state=0)],
    expected_failed_checks=lambda est: {},
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
