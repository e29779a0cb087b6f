-- A moderated response's results (`moderation: {model, policy}` in its request): OpenAI's `Moderation`
-- object, `{input, output}`, as JSON, written with the response's end. NULL for every other response.
ALTER TABLE responses ADD COLUMN moderation TEXT;
