"""Reading user files: encodings and other shared input handling."""
