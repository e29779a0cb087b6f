-- A store's (or a batch's) files are listed in the order they were attached (`created_at`, as OpenAI's
-- lists are), then by id: they were listed by file id, the order the files were uploaded in.
-- vector_store_files.list_page: `WHERE vector_store_id = ? … ORDER BY created_at, id` and its cursors.
CREATE INDEX IF NOT EXISTS vector_store_files_attached ON vector_store_files (vector_store_id, created_at, id);
