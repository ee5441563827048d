"""Model frontends: readers that turn a quantized model file into the tinytx IR."""
