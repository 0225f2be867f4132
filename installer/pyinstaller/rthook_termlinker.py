# Runs before the entry script in the bundle: use the encoder shipped inside it unless told otherwise.
import os
import sys

os.environ.setdefault("TERMLINKER_BUNDLED_MODELS", os.path.join(sys._MEIPASS, "models"))
