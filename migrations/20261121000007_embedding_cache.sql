-- Embeddings already computed, by model and SHA-256 of the text (hex).
CREATE TABLE embedding_cache (
    model        text        NOT NULL,
    content_hash text        NOT NULL,
    dimensions   integer     NOT NULL,
    -- Little-endian 32-bit floats.
    vector       bytea       NOT NULL CHECK (length(vector) = 4 * dimensions),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, content_hash)
);
