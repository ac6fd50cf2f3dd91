"""POST /v1/embeddings: OpenAI's embeddings request, served by OpenAI-compatible
providers (passthrough) and Google (``batchEmbedContents``)."""
