-- A run's and a run step's usage details, as OpenAI shows them on both (openai/openai-dotnet
-- tests/SessionRecords/AssistantsTests/BasicRunOperationsWork.json: "prompt_token_details": {"cached_tokens"},
-- "completion_tokens_details": {"reasoning_tokens"}): of `prompt_tokens`, those served from the prompt cache; of
-- `completion_tokens`, those spent reasoning. NULL on rows written before (shown as 0).
ALTER TABLE runs ADD COLUMN cached_tokens INTEGER;
ALTER TABLE runs ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE run_steps ADD COLUMN cached_tokens INTEGER;
ALTER TABLE run_steps ADD COLUMN reasoning_tokens INTEGER;
