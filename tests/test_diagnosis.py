"""``casekit.diagnose``: every check on small models built for it, the layer graph it reads,
and what it reports on real ``keras.applications`` architectures."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

import casekit
from casekit._runtime import keras_module
from casekit.checks import diagnosis
from casekit.checks.diagnosis import Finding
from casekit.lab import models

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(autouse=True)
def _fresh_layer_names() -> None:
    # layer names restart at "dropout", "dense", ...; garbage collection (seconds) is not needed
    keras_module().backend.clear_session(free_memory=False)


def _sequential(*layers: Any, shape: tuple[int, ...] = (784,), name: str | None = None) -> Any:
    keras = keras_module()
    return keras.Sequential([keras.Input(shape), *layers], name=name)


def _only(model: Any, code: str) -> list[Finding]:
    return [finding for finding in casekit.diagnose(model).findings if finding.code == code]


# -- the article's models (chapters 01-03 print these results) ------------------------------


def test_article_example_1_is_flagged_for_variance_shift() -> None:
    result = casekit.diagnose(models.example_1())
    assert result.codes() == ["dropout-feeds-batchnorm"]
    finding = result.findings[0]
    assert finding.severity == "warning" and finding.layers == ("dropout", "batch_normalization")
    assert finding.path == ("dropout", "batch_normalization")
    assert "at least 2x at rate 0.5" in finding.explanation
    assert finding.section == "chapters/01-dropout-before-batchnorm"
    assert "reestimate_batchnorm" in finding.fix


def test_article_example_2_has_no_findings() -> None:
    assert casekit.diagnose(models.example_2()).codes() == []


def test_article_example_3_high_rate_is_flagged_and_low_rate_is_not() -> None:
    assert casekit.diagnose(models.example_3(0.8)).codes() == ["high-rate-narrow-layer"]
    assert casekit.diagnose(models.example_3(0.2)).codes() == []


def test_text_rendering_lists_every_finding() -> None:
    text = str(casekit.diagnose(models.example_1()))
    assert text.splitlines()[0] == "diagnose(example_1): 1 finding"
    assert text.splitlines()[1].startswith(
        "  [warning] dropout-feeds-batchnorm: dropout -> batch_normalization:"
    )
    assert str(casekit.diagnose(models.example_2())) == "diagnose(example_2): no findings"


# -- Dropout reaching BatchNormalization: the path decides the severity ----------------------


@pytest.mark.parametrize(
    ("between", "severity", "why"),
    [
        ([], "warning", "direct: Li et al.'s closed form, at least 1/(1-rate)"),
        (["flatten"], "warning", "Flatten only moves values: still direct"),
        (["relu"], "warning", "ReLU right after the mask commutes with it: ReLU -> Dropout -> BN"),
        (["dense"], "caution", "a linear layer carries the shift on, diluted by the weights"),
        (["dense", "relu"], "info", "ReLU after mixing is a nonlinearity: it changes how much arrives"),
        (["tanh"], "info", "tanh does not commute with the mask"),
        (["maxpool"], "info", "max pooling picks the largest kept value: not linear"),
    ],
)
def test_the_path_to_batchnorm_sets_the_severity(between: list[str], severity: str, why: str) -> None:
    keras = keras_module()
    layers = {
        "flatten": lambda: keras.layers.Flatten(),
        "relu": lambda: keras.layers.ReLU(),
        "dense": lambda: keras.layers.Dense(8),
        "tanh": lambda: keras.layers.Activation("tanh"),
        "maxpool": lambda: keras.layers.MaxPooling1D(2),
    }
    body = [layers[name]() for name in between]
    model = _sequential(keras.layers.Dropout(0.5), *body, keras.layers.BatchNormalization(), shape=(4, 8))
    (finding,) = _only(model, "dropout-feeds-batchnorm")
    assert finding.severity == severity, why
    assert finding.path[0] == "dropout" and finding.path[-1] == "batch_normalization"
    assert len(finding.path) == len(between) + 2


def test_layers_the_trace_cannot_place_end_the_path() -> None:
    keras = keras_module()
    # LayerNormalization renormalizes each sample: no claim is made about what passes it.
    model = _sequential(
        keras.layers.Dropout(0.5), keras.layers.LayerNormalization(), keras.layers.BatchNormalization()
    )
    assert _only(model, "dropout-feeds-batchnorm") == []


def test_the_first_batchnorm_on_a_path_is_the_one_reported() -> None:
    keras = keras_module()
    # The second BN inherits the first one's shift; the fix (re-estimation) is the same.
    model = _sequential(
        keras.layers.Dropout(0.5),
        keras.layers.BatchNormalization(name="first"),
        keras.layers.Dense(8),
        keras.layers.BatchNormalization(name="second"),
    )
    assert [f.layers for f in _only(model, "dropout-feeds-batchnorm")] == [("dropout", "first")]


def test_a_residual_branch_reaches_batchnorm_through_add_and_conv() -> None:
    keras = keras_module()
    layers = keras.layers
    inputs = keras.Input((8, 8, 4))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = layers.Dropout(0.3, noise_shape=(None, 1, 1, 1), name="drop")(x)  # stochastic depth
    x = layers.Add(name="add")([x, inputs])
    x = layers.BatchNormalization(name="bn_after_add")(x)  # Add is linear: the skip branch dilutes
    y = layers.Conv2D(4, 1, name="conv")(x)
    y = layers.BatchNormalization(name="bn_after_conv")(y)  # already reached through bn_after_add
    model = keras.Model(inputs, y)
    (finding,) = _only(model, "dropout-feeds-batchnorm")
    assert finding.path == ("drop", "add", "bn_after_add") and finding.severity == "caution"
    assert "through Add" in finding.explanation


def test_keras_ops_in_a_functional_graph_are_traced() -> None:
    keras = keras_module()
    inputs = keras.Input((8,))
    dropped = keras.layers.Dropout(0.5, name="drop")(inputs)
    summed = dropped + inputs  # a keras.ops Add operation, not a layer
    outputs = keras.layers.BatchNormalization(name="bn")(keras.ops.reshape(summed, (-1, 2, 4)))
    (finding,) = _only(keras.Model(inputs, outputs), "dropout-feeds-batchnorm")
    assert finding.path[0] == "drop" and finding.path[-1] == "bn" and finding.severity == "caution"


def test_several_dropout_layers_reaching_one_batchnorm_are_one_finding() -> None:
    keras = keras_module()
    inputs = keras.Input((8,))
    a = keras.layers.Dense(8, name="dense")(keras.layers.Dropout(0.5, name="far")(inputs))
    b = keras.layers.Dropout(0.5, name="near")(inputs)
    outputs = keras.layers.BatchNormalization(name="bn")(keras.layers.Concatenate()([a, b]))
    (finding,) = _only(keras.Model(inputs, outputs), "dropout-feeds-batchnorm")
    assert finding.layers == ("near", "bn")  # the more direct route is shown, wherever it is listed
    assert finding.severity == "warning"  # the channels of "near" reach BN unchanged
    assert "also reached from far" in finding.explanation


@pytest.mark.parametrize(("axis", "severity"), [(-1, "warning"), (2, "warning"), (1, "caution")])
def test_concatenation_passes_channels_unchanged_only_along_the_channel_axis(
    axis: int, severity: str
) -> None:
    keras = keras_module()
    inputs = keras.Input((4, 8))
    dropped = keras.layers.Dropout(0.5)(inputs)
    joined = keras.layers.Concatenate(axis=axis)([dropped, inputs])
    (finding,) = _only(
        keras.Model(inputs, keras.layers.BatchNormalization()(joined)), "dropout-feeds-batchnorm"
    )
    # along the time axis, BN's per-channel statistics mix dropped and clean steps: diluted
    assert finding.severity == severity


def test_nested_functional_model_is_searched() -> None:
    keras = keras_module()
    inner = keras.Sequential(
        [keras.Input((32,)), keras.layers.Dropout(0.5), keras.layers.BatchNormalization()]
    )
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(10, activation="softmax")(
        inner(keras.layers.Dense(32, activation="relu")(inputs))
    )
    assert casekit.diagnose(keras.Model(inputs, outputs)).codes() == ["dropout-feeds-batchnorm"]


def test_paths_cross_the_boundaries_of_nested_models() -> None:
    keras = keras_module()
    layers = keras.layers
    head_in = keras.Input((8,))
    head = keras.Model(head_in, layers.Dropout(0.5, name="drop")(layers.Dense(8)(head_in)), name="head")
    tail_in = keras.Input((8,))
    tail = keras.Model(tail_in, layers.BatchNormalization(name="bn")(layers.Dense(8, name="d")(tail_in)))
    shared = layers.Dense(8, name="shared")  # called twice: each call is its own node
    inputs = keras.Input((8,))
    x = tail(shared(shared(head(inputs))))
    (finding,) = _only(keras.Model(inputs, x), "dropout-feeds-batchnorm")
    assert finding.path == ("drop", "shared", "shared", "d", "bn")


def test_the_graph_is_read_from_public_api_only() -> None:
    source = Path(diagnosis.__file__).read_text()
    private = {
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    }
    assert private == set()


# -- the other checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conv", "shape", "spatial"),
    [("Conv1D", (16, 3), "SpatialDropout1D"), ("Conv2D", (8, 8, 3), "SpatialDropout2D"),
     ("Conv3D", (4, 4, 4, 3), "SpatialDropout3D")],
)  # fmt: skip
def test_plain_dropout_on_feature_maps_suggests_spatial_dropout(
    conv: str, shape: tuple[int, ...], spatial: str
) -> None:
    keras = keras_module()
    model = _sequential(getattr(keras.layers, conv)(4, 3), keras.layers.Dropout(0.3), shape=shape)
    (finding,) = casekit.diagnose(model).findings
    assert finding.code == "dropout-on-feature-maps" and finding.severity == diagnosis.FEATURE_MAP_SEVERITY
    assert finding.fix.startswith(f"try {spatial}(0.3)")
    assert finding.section == "chapters/04-conv-nets#conv-spatial"


def test_the_feature_map_severity_follows_chapter_4_s_verdict_on_spatial_dropout() -> None:
    """``caution`` only where chapter 4 shows SpatialDropout regularizing better than Dropout."""
    from casekit.claims import ledger

    chapter = Path(__file__).parent.parent / "chapters" / "04-conv-nets.ipynb"
    verdict = ledger.glued_values(chapter)["verdict_C8"]
    assert diagnosis.FEATURE_MAP_SEVERITY == ("caution" if verdict == "supported" else "info")


def test_dropout_that_already_drops_channels_or_sequence_features_is_not_flagged() -> None:
    keras = keras_module()
    layers = keras.layers
    spatial = _sequential(layers.Conv2D(4, 3), layers.SpatialDropout2D(0.3), shape=(8, 8, 3))
    shaped = _sequential(
        layers.Conv2D(4, 3), layers.Dropout(0.3, noise_shape=(None, 1, 1, 4)), shape=(8, 8, 3)
    )
    # (batch, steps, features) from an Embedding is a sequence, not a feature map
    tokens = _sequential(layers.Embedding(100, 8), layers.Dropout(0.3), shape=(12,))
    for model in (spatial, shaped, tokens):
        assert casekit.diagnose(model).codes() == []


def test_channels_first_feature_maps_get_the_matching_data_format() -> None:
    keras = keras_module()
    model = _sequential(
        keras.layers.Conv2D(4, 3, data_format="channels_first"), keras.layers.Dropout(0.3), shape=(3, 8, 8)
    )
    (finding,) = _only(model, "dropout-on-feature-maps")
    assert finding.fix.startswith('try SpatialDropout2D(0.3, data_format="channels_first")')


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_dropout_rules_out_cudnn(kind: str) -> None:
    keras = keras_module()
    rnn = getattr(keras.layers, kind)
    model = _sequential(rnn(16, recurrent_dropout=0.2), shape=(10, 4))
    (finding,) = casekit.diagnose(model).findings
    assert finding.code == "recurrent-dropout-no-cudnn" and finding.severity == "caution"
    assert "recurrent_dropout=0.2 rules out the cuDNN kernel" in finding.explanation
    assert casekit.diagnose(_sequential(rnn(16, dropout=0.2), shape=(10, 4))).codes() == []


def test_recurrent_dropout_variants() -> None:
    keras = keras_module()
    layers = keras.layers
    wrapped = _sequential(layers.Bidirectional(layers.LSTM(8, recurrent_dropout=0.1)), shape=(10, 4))
    assert casekit.diagnose(wrapped).codes() == ["recurrent-dropout-no-cudnn"]  # one finding, not two
    opted_out = _sequential(layers.LSTM(8, recurrent_dropout=0.1, use_cudnn=False), shape=(10, 4))
    assert casekit.diagnose(opted_out).codes() == []  # no cuDNN kernel was asked for
    forced = _sequential(layers.LSTM(8, recurrent_dropout=0.1, use_cudnn=True), shape=(10, 4))
    (finding,) = casekit.diagnose(forced).findings
    assert finding.severity == "warning" and "raises a ValueError" in finding.explanation


def test_a_high_rate_on_a_narrow_layer_mentions_keep_prob_in_its_fix() -> None:
    keras = keras_module()
    model = _sequential(keras.layers.Dense(128), keras.layers.Dropout(0.9), shape=(32,))
    (finding,) = casekit.diagnose(model).findings  # one finding: both causes, one fix
    assert finding.code == "high-rate-narrow-layer" and finding.severity == "warning"
    assert "TF1's keep_prob" in finding.fix and "the Keras rate is 0.1" in finding.fix
    assert "widen the layer to about 1280 units" in finding.fix
    assert "chapters/00-why-dropout-seems-broken#symptom-keep-prob" in finding.fix


def test_a_high_rate_on_a_wide_layer_is_a_keep_prob_note() -> None:
    keras = keras_module()
    wide = _sequential(keras.layers.Dense(1024), keras.layers.Dropout(0.8), shape=(32,))
    (finding,) = casekit.diagnose(wide).findings
    assert finding.code == "rate-may-be-keep-prob" and finding.severity == "info"
    assert "the Keras rate is 0.2" in finding.fix
    assert finding.section == "chapters/00-why-dropout-seems-broken#symptom-keep-prob"
    below = _sequential(keras.layers.Dense(1024), keras.layers.Dropout(0.79), shape=(32,))
    assert casekit.diagnose(below).codes() == []


def test_rate_zero_is_noted() -> None:
    assert casekit.diagnose(models.build(("dense", "relu", "dropout:0"))).codes() == ["rate-zero"]


def test_a_frozen_batchnorm_next_to_dropout_is_noted() -> None:
    keras = keras_module()
    layers = keras.layers
    frozen = layers.BatchNormalization(name="bn")
    frozen.trainable = False
    model = _sequential(layers.Dense(8), frozen, layers.ReLU(name="relu"), layers.Dropout(0.5, name="drop"))
    (finding,) = casekit.diagnose(model).findings
    assert finding.code == "frozen-batchnorm-next-to-dropout" and finding.severity == "info"
    assert finding.layers == ("bn", "drop") and finding.path == ("bn", "relu", "drop")
    assert finding.section == "chapters/00-why-dropout-seems-broken#symptom-bn-trainable"
    trainable = _sequential(layers.Dense(8), layers.BatchNormalization(), layers.ReLU(), layers.Dropout(0.5))
    assert casekit.diagnose(trainable).codes() == []


def test_dropout_next_to_selu_suggests_alpha_dropout() -> None:
    keras = keras_module()
    layers = keras.layers
    model = _sequential(
        layers.Dense(32, activation="selu", name="in"),
        layers.Dropout(0.1, name="drop"),
        layers.Dense(32, activation="selu", name="out"),
    )
    (finding,) = casekit.diagnose(model).findings  # one finding per Dropout layer
    assert finding.code == "dropout-with-selu" and finding.path == ("in", "drop", "out")
    assert finding.fix.startswith("use AlphaDropout(0.1)")
    selu_after = _sequential(layers.Dense(32), layers.Dropout(0.1), layers.Activation("selu"))
    assert casekit.diagnose(selu_after).codes() == ["dropout-with-selu"]  # not also "nonlinear"
    alpha = _sequential(
        layers.Dense(32, activation="selu"), layers.AlphaDropout(0.1), layers.Dense(32, activation="selu")
    )
    assert casekit.diagnose(alpha).codes() == []


@pytest.mark.parametrize(
    ("activation", "codes"), [("tanh", ["dropout-before-nonlinear-activation"]), ("relu", [])]
)
def test_dropout_before_activation_depends_on_the_activation(activation: str, codes: list[str]) -> None:
    assert casekit.diagnose(models.build(("dense", "bn", "dropout", activation))).codes() == codes


def test_dropout_on_logits_is_flagged() -> None:
    keras = keras_module()
    model = _sequential(keras.layers.Dense(10), keras.layers.Dropout(0.3), keras.layers.Activation("softmax"))
    assert casekit.diagnose(model).codes() == ["dropout-on-logits"]


def test_keras_reference_placements_raise_no_alarm() -> None:
    keras = keras_module()
    # EfficientNet/MobileNetV3 tops: BN and activation, pooling, then Dropout before the classifier.
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(16, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("swish")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    assert casekit.diagnose(keras.Model(inputs, outputs)).codes() == []


def _subclassed(with_training: bool) -> Any:
    keras = keras_module()
    Model: Any = keras.Model

    class WithTraining(Model):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = keras.layers.Dense(32, activation="relu")
            self.drop = keras.layers.Dropout(0.5)
            self.norm = keras.layers.BatchNormalization()
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, x: Any, training: bool = False) -> Any:
            return self.out(self.norm(self.drop(self.hidden(x), training=training), training=training))

    class WithoutTraining(WithTraining):
        def call(self, x: Any) -> Any:  # type: ignore[override]
            return self.out(self.norm(self.drop(self.hidden(x))))

    return WithTraining() if with_training else WithoutTraining()


def test_subclassed_models_are_traced_in_layer_order() -> None:
    assert casekit.diagnose(_subclassed(False)).codes() == [
        "dropout-feeds-batchnorm",  # no recorded graph: attribute order stands in for call order
        "call-without-training-argument",
    ]
    assert casekit.diagnose(_subclassed(True)).codes() == ["dropout-feeds-batchnorm"]
    assert not diagnosis.layer_graph(_subclassed(True)).exact


def test_findings_are_ordered_by_severity() -> None:
    keras = keras_module()
    layers = keras.layers
    model = _sequential(
        layers.Dense(1024),
        layers.Dropout(0.9),  # info: keep_prob note (wide layer)
        layers.Reshape((32, 32, 1)),
        layers.Conv2D(4, 3),
        layers.Dropout(0.2),  # plain Dropout on feature maps: FEATURE_MAP_SEVERITY
        layers.BatchNormalization(),  # warning: Dropout feeds it directly
    )
    severities = [finding.severity for finding in casekit.diagnose(model).findings]
    assert severities == sorted(
        ["warning", diagnosis.FEATURE_MAP_SEVERITY, "info"], key=diagnosis.SEVERITIES.index
    )


def test_readme_lists_every_check() -> None:
    text = README.read_text()
    section = text.split("## Check your own model", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([a-z0-9-]+)`", section)) & set(diagnosis.CHECKS)
    assert listed == set(diagnosis.CHECKS)


# -- real architectures (keras.applications, weights=None, small inputs) -----------------------


def _applications(name: str, **kwargs: Any) -> Any:
    keras = keras_module()
    return getattr(keras.applications, name)(weights=None, **kwargs)


def _bn_count(model: Any) -> int:
    return sum(diagnosis._is_batchnorm(call) for call in diagnosis.layer_graph(model).calls)


def test_mobilenet_v2() -> None:
    model = _applications("MobileNetV2", input_shape=(32, 32, 3))
    # MobileNetV2 has no Dropout at all (its top is pooling and Dense), so none of its 52
    # BatchNormalization layers is reached, and there is no rate, recurrent layer or SELU.
    assert _bn_count(model) == 52
    assert casekit.diagnose(model).codes() == []


def test_mobilenet_v2_as_a_frozen_base_with_a_dropout_head() -> None:
    keras = keras_module()
    base = _applications("MobileNetV2", input_shape=(32, 32, 3), include_top=False)
    base.trainable = False  # the transfer-learning recipe: BN layers in inference mode
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    outputs = keras.layers.Dense(10)(keras.layers.Dropout(0.2)(x))
    model = keras.Model(inputs, outputs)
    # The nested base is traced (its BN layers are in the graph), but the Dropout comes after
    # the last BN (the placement Li et al. recommend) and pooling separates it from the frozen
    # BN layers, so nothing is reported.
    assert _bn_count(model) == 52
    assert casekit.diagnose(model).codes() == []


def test_efficientnet_b0() -> None:
    model = _applications("EfficientNetB0", input_shape=(32, 32, 3))
    findings = casekit.diagnose(model).findings
    # Stochastic depth: each block with a skip connection ends in Dropout(noise_shape=(None, 1,
    # 1, 1)) before its Add; the next block's 1x1 expand convolution feeds its BatchNormalization,
    # so the noise reaches that BN through Add and Conv2D (linear: caution). Blocks 1a and the
    # first block of each stage have no skip, so no Dropout; top_dropout feeds only the classifier.
    reached = {
        "block2b_drop": "block3a_expand_bn",
        "block3b_drop": "block4a_expand_bn",
        "block4b_drop": "block4c_expand_bn",
        "block4c_drop": "block5a_expand_bn",
        "block5b_drop": "block5c_expand_bn",
        "block5c_drop": "block6a_expand_bn",
        "block6b_drop": "block6c_expand_bn",
        "block6c_drop": "block6d_expand_bn",
        "block6d_drop": "block7a_expand_bn",
    }
    assert {f.layers for f in findings} == set(reached.items())
    assert {f.code for f in findings} == {"dropout-feeds-batchnorm"}  # noise_shape set: not plain
    assert {f.severity for f in findings} == {"caution"}
    first = next(f for f in findings if f.layers[0] == "block2b_drop")
    assert first.path == ("block2b_drop", "block2b_add", "block3a_expand_conv", "block3a_expand_bn")
    # Earlier Dropout layers of a stage reach the same BN along the skip connections too.
    last = next(f for f in findings if f.layers[0] == "block6d_drop")
    assert last.explanation.endswith("also reached from block6c_drop, block6b_drop")


def test_densenet_121() -> None:
    model = _applications("DenseNet121", input_shape=(32, 32, 3))
    # No Dropout in Keras's DenseNet: 121 BN layers, 58 Concatenate layers, nothing reached.
    assert _bn_count(model) == 121
    assert casekit.diagnose(model).codes() == []


@pytest.mark.slow  # cloning DenseNet121 to insert 119 Dropout layers takes about 5 s on 2 cores
def test_densenet_121_with_the_papers_dropout() -> None:
    keras = keras_module()
    base = _applications("DenseNet121", input_shape=(32, 32, 3), include_top=False)

    def with_dropout(layer: Any, *args: Any, **kwargs: Any) -> Any:
        out = layer(*args, **kwargs)  # Huang et al.: dropout after each convolution but the first
        if isinstance(layer, keras.layers.Conv2D) and layer.name != "conv1_conv":
            out = keras.layers.Dropout(0.2, name=f"{layer.name}_drop")(out)
        return out

    model = keras.models.clone_model(base, call_function=with_dropout)
    findings = casekit.diagnose(model).findings
    spatial = [f for f in findings if f.code == "dropout-on-feature-maps"]
    feeds = {f.layers[0]: f for f in findings if f.code == "dropout-feeds-batchnorm"}
    # Every inserted Dropout is plain Dropout on 4-D feature maps: 58 + 58 + 3 of them.
    assert len(spatial) == 119
    # Bottleneck: 1x1 conv -> Dropout -> BN directly (Li et al.'s case): warning.
    assert feeds["conv2_block1_1_conv_drop"].severity == "warning"
    assert feeds["conv2_block1_1_conv_drop"].path == ("conv2_block1_1_conv_drop", "conv2_block1_1_bn")
    # 3x3 conv -> Dropout -> Concatenate (channel axis) -> the next layer's BN: the dropped
    # channels reach BN unchanged, so it is the direct case for them: warning.
    assert feeds["conv2_block1_2_conv_drop"].path == (
        "conv2_block1_2_conv_drop", "conv2_block1_concat", "conv2_block2_0_bn",
    )  # fmt: skip
    assert feeds["conv2_block1_2_conv_drop"].severity == "warning"
    # Transition: conv -> Dropout -> AveragePooling2D -> the next block's BN: caution.
    assert feeds["pool2_conv_drop"].path == ("pool2_conv_drop", "pool2_pool", "conv3_block1_0_bn")
    assert {f.severity for f in findings} == {"warning", "caution", diagnosis.FEATURE_MAP_SEVERITY}


def test_resnet_50() -> None:
    model = _applications("ResNet50", input_shape=(32, 32, 3))
    # No Dropout in ResNet50: 53 BN layers and 16 residual Adds, nothing reached.
    assert _bn_count(model) == 53
    assert casekit.diagnose(model).codes() == []
