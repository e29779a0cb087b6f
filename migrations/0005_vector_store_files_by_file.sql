-- Deleting a file (DELETE /v1/files/{id}, or its expiry) takes it out of every vector store that holds
-- it: its vector_store_files rows are found by file id, across stores.
CREATE INDEX IF NOT EXISTS vector_store_files_file ON vector_store_files (id);
