"""The article's three code examples, verbatim, for quoting and for tests.

Source: "Why isn't the Keras Dropout layer functioning as expected?" (2025-01-30).
The strings are byte-for-byte copies of its code blocks; ``tests/test_article.py``
checks them against the article and checks that :mod:`casekit.lab.models` builds the same
layers as running them.
"""

from __future__ import annotations

EXAMPLE_1 = """\
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.layers import Dense, Dropout, BatchNormalization

model = keras.Sequential([
    Dense(64, activation='relu', input_shape=(784,)),
    Dropout(0.5),  # Incorrect placement
    BatchNormalization(),
    Dense(10, activation='softmax')
])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
"""

EXAMPLE_2 = """\
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.layers import Dense, Dropout, BatchNormalization, Activation

model = keras.Sequential([
    Dense(64, input_shape=(784,)),
    BatchNormalization(),
    Dropout(0.5), # Correct placement
    Activation('relu'),
    Dense(10, activation='softmax')
])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
"""

EXAMPLE_3 = """\
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.layers import Dense, Dropout, BatchNormalization, Activation

def create_model(dropout_rate):
  model = keras.Sequential([
      Dense(64, input_shape=(784,)),
      BatchNormalization(),
      Dropout(dropout_rate),
      Activation('relu'),
      Dense(10, activation='softmax')
  ])
  model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
  return model

model_low_dropout = create_model(0.2)
model_high_dropout = create_model(0.8)

# Training and evaluation would follow here, comparing the performance of both models.
# Observing the validation accuracy would show the effects of different dropout rates.
"""

EXAMPLES = {1: EXAMPLE_1, 2: EXAMPLE_2, 3: EXAMPLE_3}
