"""Built-in routine files, shipped as package data; `voiceroutine init` copies one to edit."""
