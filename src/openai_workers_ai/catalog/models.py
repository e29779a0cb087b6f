"""Catalog data: Workers AI models (from @cloudflare/workers-types and Cloudflare's model pages).

Sources: ``interface AiModels`` in @cloudflare/workers-types 5.20261117 (index.d.ts),
and cloudflare/cloudflare-docs ``src/content/workers-ai-models/*.json`` (the data behind
developers.cloudflare.com/workers-ai/models/<name>/: ``context_window``,
``function_calling``, ``reasoning``, ``vision`` properties), plus
developers.cloudflare.com/workers-ai/features/json-mode/ for JSON mode.
``context_window`` is None where no model page value was found; the live
``GET /accounts/{id}/ai/models/search`` catalog is authoritative at runtime.

``family`` — the input/output *format* a translator must speak:

text-generation
  messages       Classic Workers AI LLM: input ``{messages:[{role,content}]}`` or ``{prompt, raw?, lora?}``
                 plus max_tokens, temperature, top_p, top_k, seed, repetition_penalty,
                 frequency_penalty, presence_penalty, stream, tools, functions, (response_format
                 where JSON_MODE). Output ``{response: str, tool_calls?: [{name, arguments: object}],
                 usage?}``; with JSON mode ``response`` may be an *object*. Stream: SSE
                 ``data: {"response":"tok","p":"…"}`` … ``data: {"response":"","usage":{…}}``
                 ``data: [DONE]``. (llama-4-scout returns tool_calls as ``[{id,type,function:{name,
                 arguments: object}}]`` — extra["tool_call_format"] = "openai"; accept both shapes.)
                 Vision members also take ``image`` (number[] | base64) or image_url content parts.
  messages-oai   Classic input (as ``messages``) but the output is an OpenAI object:
                 ``chat.completion`` for messages / ``text_completion`` for prompt; message may carry
                 ``reasoning_content``. (qwen3-30b-a3b-fp8, gemma-sea-lion-v4.)
  openai         Takes/returns OpenAI Chat Completions natively (types: ChatCompletionsInput →
                 ChatCompletionsOutput): content parts, tools/tool_choice, response_format
                 json_schema, stream_options, reasoning_effort, chat_template_kwargs.enable_thinking.
                 Stream is ``chat.completion.chunk`` SSE (delta.content / delta.reasoning_content or
                 delta.reasoning / delta.tool_calls) then ``{"response":"","usage":{…}}`` and [DONE].
  gpt-oss        XOR<ResponsesInput (input, instructions, reasoning:{effort}), ChatCompletionsInput>
                 → XOR<ResponsesOutput, ChatCompletionsOutput>: send Chat Completions, get chat.completion.
  llama-guard    ``{messages:[{role: user|assistant, content}], max_tokens?, temperature?,
                 response_format?}`` → ``{response: str | {safe, categories}, usage}``.
image-to-text
  image-to-text  ``{image: number[] (uform: or base64), prompt?, max_tokens?, …}`` → ``{description}``.
  moondream      ``{task: query|caption|point|detect, image (data URI/base64), question?, …}`` →
                 ``{answer?|caption?|points?|objects?, finish_reason, metrics}``.
text-embeddings
  embeddings     ``{text: str | str[], pooling?}`` → ``{shape, data, pooling?}`` (bge, embeddinggemma).
  bge-m3         as ``embeddings`` (``{text}`` → ``{shape, data}``) or ``{query, contexts}`` → scores.
  qwen3-embedding``{text? | queries?, documents?, instruction?}`` → ``{data, shape}``.
  plamo          ``{text}`` → ``{data, shape}``.
  extra["matryoshka"]: trained with Matryoshka representation learning (embeddinggemma: 768/512/256/128,
                 qwen3-embedding: 32–1024), so OpenAI's ``dimensions`` may truncate + renormalise.
text-classification: text-classification ``{text}`` → ``[{label, score}]``;
  reranker ``{query?, contexts:[{text}], top_k?}`` → ``{response:[{id, score}]}``.
automatic-speech-recognition
  whisper        ``{audio: number[]}`` → ``{text, word_count?, words?, vtt?}``.
  whisper-v3     ``{audio: base64 str, task?, language?, vad_filter?, initial_prompt?, …}`` →
                 ``{text, transcription_info, segments, vtt?, word_count}``.
  deepgram       ``{audio: {body: stream, contentType}, …options}`` → ``{results:{channels:[{alternatives:
                 [{transcript, confidence, words}]}]}}`` (REST: raw audio bytes + Content-Type).
  deepgram-flux  websocket-only turn-based streaming ASR.
  nemotron-asr   ``{audio: base64 | {body, contentType}, encoding?, sample_rate?}`` → ``{text, duration}``.
translation: m2m100 ``{text, source_lang?, target_lang}`` → ``{translated_text}``;
  indictrans ``{text: str|str[], target_language}`` → ``{translations: []}``.
summarization: summarization ``{input_text, max_length?}`` → ``{summary}``.
text-to-image
  stable-diffusion ``{prompt, negative_prompt?, height?, width?, image?|image_b64?, mask?, num_steps?,
                 strength?, guidance?, seed?}`` → PNG bytes (ReadableStream, content-type image/png).
  flux           ``{prompt, steps?}`` → ``{image: base64 JPEG}`` (also lucid-origin: ``{image}``).
  flux-2         ``{multipart: {body, contentType}}`` (multipart/form-data) → ``{image: base64}``.
  phoenix        ``{prompt, guidance?, seed?, height?, width?, num_steps?, negative_prompt?}`` → image bytes.
text-to-speech: melotts ``{prompt, lang?}`` → ``{audio: base64 mp3}``;
  aura ``{text, speaker?, encoding?, container?, sample_rate?, bit_rate?}`` → audio bytes.
image-classification / object-detection: ``{image: number[]}`` → ``[{label, score(, box)}]``.
voice-activity-detection: smart-turn ``{audio, dtype?}`` → ``{is_complete, probability}``.
"""

from __future__ import annotations

from .model_info import JSON_MODE, REASONING, STREAMING, TOOLS, VISION, ModelInfo

_chat = frozenset({STREAMING})
_none: frozenset[str] = frozenset()
_dep = {"deprecated": True}
_oai = _chat | {TOOLS, JSON_MODE}  # OpenAI Chat Completions models: tools + response_format

MODELS: tuple[ModelInfo, ...] = (
    # ── automatic-speech-recognition ──────────────────────────────────────────
    ModelInfo("@cf/deepgram/flux", "automatic-speech-recognition", "deepgram", None, _none, "deepgram-flux", description="Deepgram Flux: conversational speech recognition with built-in end-of-turn detection (WebSocket).", extra={"websocket": True}),
    ModelInfo("@cf/deepgram/nova-3", "automatic-speech-recognition", "deepgram", None, _none, "deepgram", description="Deepgram Nova-3 speech-to-text: transcribe audio with word timings, diarization and smart formatting."),
    ModelInfo("@cf/nvidia/nemotron-speech-streaming-en-0.6b", "automatic-speech-recognition", "nvidia", None, _none, "nemotron-asr", description="NVIDIA Nemotron streaming English speech recognition (0.6B)."),
    ModelInfo("@cf/openai/whisper", "automatic-speech-recognition", "openai", None, _none, "whisper", description="Whisper: general-purpose speech recognition trained on 680k hours of multilingual audio."),
    ModelInfo("@cf/openai/whisper-large-v3-turbo", "automatic-speech-recognition", "openai", None, _none, "whisper-v3", description="Whisper large-v3-turbo: faster, pruned Whisper large-v3 for speech recognition and translation."),
    ModelInfo("@cf/openai/whisper-tiny-en", "automatic-speech-recognition", "openai", None, _none, "whisper", description="Whisper tiny, English-only speech recognition.", extra={"beta": True}),
    # ── image-classification ──────────────────────────────────────────────────
    ModelInfo("@cf/microsoft/resnet-50", "image-classification", "microsoft", None, _none, "image-classification", description="ResNet-50 image classification trained on ImageNet."),
    # ── image-to-text ─────────────────────────────────────────────────────────
    ModelInfo("@cf/llava-hf/llava-1.5-7b-hf", "image-to-text", "llava-hf", None, frozenset({VISION}), "image-to-text", description="LLaVA 1.5 7B: multimodal chatbot describing images (image → text).", extra={"beta": True}),
    ModelInfo("@cf/moondream/moondream3.1-9B-A2B", "image-to-text", "moondream", None, frozenset({VISION}), "moondream", description="Moondream 3.1 vision model: visual query, captioning, pointing and object detection."),
    ModelInfo("@cf/unum/uform-gen2-qwen-500m", "image-to-text", "unum", None, frozenset({VISION}), "image-to-text", description="UForm-Gen2: small generative vision-language model for captioning and VQA.", extra={"beta": True}),
    # ── object-detection ──────────────────────────────────────────────────────
    ModelInfo("@cf/facebook/detr-resnet-50", "object-detection", "facebook", None, _none, "object-detection", description="DETR ResNet-50 end-to-end object detection (COCO).", extra={"beta": True}),
    # ── summarization ─────────────────────────────────────────────────────────
    ModelInfo("@cf/facebook/bart-large-cnn", "summarization", "facebook", None, _none, "summarization", description="BART large fine-tuned on CNN/Daily Mail for text summarization.", extra={"beta": True}),
    # ── text-classification ───────────────────────────────────────────────────
    ModelInfo("@cf/baai/bge-reranker-base", "text-classification", "baai", None, _none, "reranker", description="BGE reranker (base): scores query/context relevance for re-ranking retrieval results."),
    ModelInfo("@cf/huggingface/distilbert-sst-2-int8", "text-classification", "huggingface", None, _none, "text-classification", description="DistilBERT fine-tuned on SST-2 for sentiment classification (POSITIVE/NEGATIVE)."),
    # ── text-embeddings ───────────────────────────────────────────────────────
    ModelInfo("@cf/baai/bge-base-en-v1.5", "text-embeddings", "baai", 512, _none, "embeddings", dimensions=768, max_batch=100, description="BAAI general embedding (Base) model that transforms any given text into a 768-dimensional vector"),
    ModelInfo("@cf/baai/bge-large-en-v1.5", "text-embeddings", "baai", 512, _none, "embeddings", dimensions=1024, max_batch=100, description="BAAI general embedding (Large) model that transforms any given text into a 1024-dimensional vector"),
    ModelInfo("@cf/baai/bge-m3", "text-embeddings", "baai", 60000, _none, "bge-m3", dimensions=1024, max_batch=100, description="BGE-M3: multilingual, multi-granularity embedding model (dense retrieval; query/contexts scoring)."),
    ModelInfo("@cf/baai/bge-small-en-v1.5", "text-embeddings", "baai", 512, _none, "embeddings", dimensions=384, max_batch=100, description="BAAI general embedding (Small) model that transforms any given text into a 384-dimensional vector"),
    ModelInfo("@cf/google/embeddinggemma-300m", "text-embeddings", "google", None, _none, "embeddings", dimensions=768, description="EmbeddingGemma 300M: multilingual text embedding model from Google.", extra={"matryoshka": True}),
    ModelInfo("@cf/pfnet/plamo-embedding-1b", "text-embeddings", "pfnet", None, _none, "plamo", dimensions=2048, description="PLaMo-Embedding-1B: Japanese text embedding model from Preferred Networks."),
    ModelInfo("@cf/qwen/qwen3-embedding-0.6b", "text-embeddings", "qwen", 8192, _none, "qwen3-embedding", dimensions=1024, max_batch=32, description="Qwen3 Embedding 0.6B: multilingual text embedding and ranking model.", extra={"matryoshka": True}),
    # ── text-generation ───────────────────────────────────────────────────────
    ModelInfo("@cf/aisingapore/gemma-sea-lion-v4-27b-it", "text-generation", "aisingapore", None, _chat | {JSON_MODE}, "messages-oai", description="SEA-LION v4 27B: Gemma-based instruction model for Southeast Asian languages."),
    ModelInfo("@cf/deepseek-ai/deepseek-math-7b-instruct", "text-generation", "deepseek-ai", None, _chat, "messages", description="DeepSeekMath 7B instruct: mathematical reasoning.", extra=_dep),
    ModelInfo("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", "text-generation", "deepseek-ai", None, _chat | {JSON_MODE, REASONING}, "messages", description="DeepSeek-R1-Distill-Qwen-32B: reasoning model distilled from DeepSeek-R1 (thinks in <think>…</think>).", extra={"reasoning_format": "think-tags"}),
    ModelInfo("@cf/deepseek-ai/deepseek-v4-flash-0731", "text-generation", "deepseek-ai", None, _oai | {REASONING}, "openai", description="DeepSeek V4 Flash: fast reasoning/agentic model (reasoning_effort max|high|low|none)."),
    ModelInfo("@cf/deepseek-ai/deepseek-v4-pro-0813", "text-generation", "deepseek-ai", None, _oai | {REASONING}, "openai", description="DeepSeek V4 Pro: frontier reasoning/agentic model (reasoning_effort max|high|low|none)."),
    ModelInfo("@cf/defog/sqlcoder-7b-2", "text-generation", "defog", None, _chat, "messages", description="SQLCoder 7B: text-to-SQL generation.", extra=_dep),
    ModelInfo("@cf/fblgit/una-cybertron-7b-v2-bf16", "text-generation", "fblgit", None, _chat, "messages", description="Cybertron 7B v2: Mistral-based model trained with UNA.", extra=_dep),
    ModelInfo("@cf/google/gemma-2b-it-lora", "text-generation", "google", None, _chat, "messages", description="Gemma 2B instruct base for LoRA adapters.", extra={**_dep, "lora": True}),
    ModelInfo("@cf/google/gemma-3-12b-it", "text-generation", "google", 80000, _chat | {VISION}, "messages", description="Gemma 3 12B: multimodal (text+image in, text out), multilingual, 128K-trained model.", extra={"lora": True, "guided_json": True}),
    ModelInfo("@cf/google/gemma-4-26b-a4b-it", "text-generation", "google", None, _oai | {REASONING}, "openai", description="Gemma 4 26B-A4B instruct (MoE); thinking on by default, off via chat_template_kwargs.enable_thinking=false."),
    ModelInfo("@cf/google/gemma-7b-it-lora", "text-generation", "google", None, _chat, "messages", description="Gemma 7B instruct base for LoRA adapters.", extra={**_dep, "lora": True}),
    ModelInfo("@cf/ibm-granite/granite-4.0-h-micro", "text-generation", "ibm-granite", None, _chat, "messages", description="IBM Granite 4.0 H Micro: small hybrid model for instruction following and tool calling."),
    ModelInfo("@cf/meta-llama/llama-2-7b-chat-hf-lora", "text-generation", "meta-llama", None, _chat, "messages", description="Llama 2 7B chat base for LoRA adapters.", extra={**_dep, "lora": True}),
    ModelInfo("@cf/meta/llama-2-7b-chat-fp16", "text-generation", "meta", None, _chat, "messages", description="Llama 2 7B chat (fp16).", extra=_dep),
    ModelInfo("@cf/meta/llama-2-7b-chat-int8", "text-generation", "meta", None, _chat, "messages", description="Llama 2 7B chat (int8).", extra=_dep),
    ModelInfo("@cf/meta/llama-3-8b-instruct", "text-generation", "meta", None, _chat | {JSON_MODE}, "messages", description="Llama 3 8B instruct: dialogue-optimized Llama 3 model."),
    ModelInfo("@cf/meta/llama-3-8b-instruct-awq", "text-generation", "meta", None, _chat, "messages", description="Llama 3 8B instruct, AWQ int4-quantized."),
    ModelInfo("@cf/meta/llama-3.1-70b-instruct", "text-generation", "meta", None, _chat | {JSON_MODE}, "messages", description="Llama 3.1 70B instruct: multilingual dialogue model."),
    ModelInfo("@cf/meta/llama-3.1-8b-instruct", "text-generation", "meta", None, _chat | {JSON_MODE}, "messages", description="The Meta Llama 3.1 collection of multilingual LLMs, instruction tuned for multilingual dialogue."),
    ModelInfo("@cf/meta/llama-3.1-8b-instruct-awq", "text-generation", "meta", None, _chat, "messages", description="Llama 3.1 8B instruct, AWQ int4-quantized."),
    ModelInfo("@cf/meta/llama-3.1-8b-instruct-fast", "text-generation", "meta", 128000, _chat | {JSON_MODE}, "messages", description="[Fast version] The Meta Llama 3.1 multilingual instruction-tuned 8B model."),
    ModelInfo("@cf/meta/llama-3.1-8b-instruct-fp8", "text-generation", "meta", 32000, _chat, "messages", description="Llama 3.1 8B quantized to FP8 precision"),
    ModelInfo("@cf/meta/llama-3.2-11b-vision-instruct", "text-generation", "meta", None, _chat | {VISION, JSON_MODE}, "messages", description="Llama 3.2 11B Vision instruct: visual recognition, image reasoning, captioning and QA about images.", extra={"license_agreement": "send the prompt 'agree' once (error 5016 otherwise)"}),
    ModelInfo("@cf/meta/llama-3.2-1b-instruct", "text-generation", "meta", None, _chat, "messages", description="Llama 3.2 1B instruct: small multilingual dialogue model."),
    ModelInfo("@cf/meta/llama-3.2-3b-instruct", "text-generation", "meta", None, _chat, "messages", description="Llama 3.2 3B instruct: small multilingual dialogue model."),
    ModelInfo("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "text-generation", "meta", 24000, _chat | {TOOLS, JSON_MODE}, "messages", description="Llama 3.3 70B quantized to fp8 precision, optimized to be faster."),
    ModelInfo("@cf/meta/llama-4-scout-17b-16e-instruct", "text-generation", "meta", 131000, _chat | {TOOLS, VISION, JSON_MODE}, "messages", description="Meta's Llama 4 Scout: 17B-active, 16-expert natively multimodal MoE model for text and image understanding.", extra={"tool_call_format": "openai"}),
    ModelInfo("@cf/meta/llama-guard-3-8b", "text-generation", "meta", None, _none, "llama-guard", description="Llama Guard 3 8B: classifies LLM prompts and responses as safe/unsafe with hazard categories (S1–S14)."),
    ModelInfo("@cf/microsoft/phi-2", "text-generation", "microsoft", None, _chat, "messages", description="Phi-2: 2.7B Transformer trained on synthetic and web data.", extra=_dep),
    ModelInfo("@cf/mistral/mistral-7b-instruct-v0.1", "text-generation", "mistral", None, _chat, "messages", description="Mistral 7B Instruct v0.1: instruct fine-tune of Mistral-7B-v0.1."),
    ModelInfo("@cf/mistral/mistral-7b-instruct-v0.2-lora", "text-generation", "mistral", None, _chat, "messages", description="Mistral 7B Instruct v0.2 base for LoRA adapters.", extra={"lora": True}),
    ModelInfo("@cf/mistralai/mistral-small-3.1-24b-instruct", "text-generation", "mistralai", None, _chat | {VISION}, "messages", description="Mistral Small 3.1 24B: vision understanding and 128k context, built on Mistral Small 3.", extra={"guided_json": True}),
    ModelInfo("@cf/moonshotai/kimi-k2.5", "text-generation", "moonshotai", None, _oai | {REASONING}, "openai", description="Kimi K2.5: open 1T-parameter MoE model for agentic, tool-calling workloads."),
    ModelInfo("@cf/moonshotai/kimi-k2.6", "text-generation", "moonshotai", 262144, _oai | {REASONING, VISION}, "openai", description="Kimi K2.6: frontier-scale open 1T parameter model with 262.1k context, multi-turn tool calling, vision inputs and structured outputs.", extra={"require_workers_paid": True}),
    ModelInfo("@cf/moonshotai/kimi-k2.7-code", "text-generation", "moonshotai", 262144, _oai | {REASONING, VISION}, "openai", description="Kimi K2.7 (code): 1T parameter model with 262.1k context, tool calling, vision and structured outputs; reasoning always on.", extra={"require_workers_paid": True}),
    ModelInfo("@cf/nvidia/nemotron-3-120b-a12b", "text-generation", "nvidia", None, _oai | {REASONING}, "openai", description="NVIDIA Nemotron 3 120B-A12B: reasoning MoE model (chat_template_kwargs enable_thinking / low_effort)."),
    ModelInfo("@cf/openai/gpt-oss-120b", "text-generation", "openai", 128000, _oai | {REASONING}, "gpt-oss", description="OpenAI's open-weight model for production, general purpose, high reasoning use-cases.", extra={"reasoning_effort": ("low", "medium", "high")}),
    ModelInfo("@cf/openai/gpt-oss-20b", "text-generation", "openai", 128000, _oai | {REASONING}, "gpt-oss", description="OpenAI's open-weight model for lower latency and local or specialized use-cases.", extra={"reasoning_effort": ("low", "medium", "high")}),
    ModelInfo("@cf/openchat/openchat-3.5-0106", "text-generation", "openchat", None, _chat, "messages", description="OpenChat 3.5: open model fine-tuned with C-RLFT.", extra=_dep),
    ModelInfo("@cf/qwen/qwen1.5-0.5b-chat", "text-generation", "qwen", None, _chat, "messages", description="Qwen1.5 0.5B chat.", extra=_dep),
    ModelInfo("@cf/qwen/qwen1.5-1.8b-chat", "text-generation", "qwen", None, _chat, "messages", description="Qwen1.5 1.8B chat.", extra=_dep),
    ModelInfo("@cf/qwen/qwen1.5-14b-chat-awq", "text-generation", "qwen", None, _chat, "messages", description="Qwen1.5 14B chat, AWQ-quantized.", extra=_dep),
    ModelInfo("@cf/qwen/qwen1.5-7b-chat-awq", "text-generation", "qwen", None, _chat, "messages", description="Qwen1.5 7B chat, AWQ-quantized.", extra=_dep),
    ModelInfo("@cf/qwen/qwen2.5-coder-32b-instruct", "text-generation", "qwen", None, _chat | {JSON_MODE}, "messages", description="Qwen2.5-Coder 32B instruct: code generation and reasoning.", extra={"lora": True}),
    ModelInfo("@cf/qwen/qwen3-30b-a3b-fp8", "text-generation", "qwen", 32768, _chat | {TOOLS, JSON_MODE, REASONING}, "messages-oai", description="Qwen3 30B-A3B (fp8): MoE model with advances in reasoning, instruction-following, agents and multilingual support."),
    ModelInfo("@cf/qwen/qwen3.8-27b", "text-generation", "qwen", 262144, _oai | {REASONING, VISION}, "openai", description="Qwen 3.8 27B: instruction-tuned model for vision, general-purpose text generation and agentic workloads.", extra={"reasoning_effort": ("low", "medium", "xhigh")}),
    ModelInfo("@cf/qwen/qwq-32b", "text-generation", "qwen", None, _chat | {REASONING}, "messages", description="QwQ-32B: Qwen reasoning model (thinks in <think>…</think>).", extra={"reasoning_format": "think-tags", "guided_json": True, "lora": True}),
    ModelInfo("@cf/thebloke/discolm-german-7b-v1-awq", "text-generation", "thebloke", None, _chat, "messages", description="DiscoLM German 7B v1 (AWQ): German-optimized Mistral model.", extra=_dep),
    ModelInfo("@cf/tiiuae/falcon-7b-instruct", "text-generation", "tiiuae", None, _chat, "messages", description="Falcon 7B instruct.", extra=_dep),
    ModelInfo("@cf/tinyllama/tinyllama-1.1b-chat-v1.0", "text-generation", "tinyllama", None, _chat, "messages", description="TinyLlama 1.1B chat.", extra=_dep),
    ModelInfo("@cf/zai-org/glm-4.7-flash", "text-generation", "zai-org", 131072, _oai | {REASONING}, "openai", description="GLM-4.7-Flash: fast multilingual model with 131,072 token context, optimized for dialogue, instruction-following and multi-turn tool calling."),
    ModelInfo("@cf/zai-org/glm-5.2", "text-generation", "zai-org", None, _oai | {REASONING}, "openai", description="GLM-5.2: reasoning/agentic model (reasoning_effort max|high|none).", extra={"reasoning_effort": ("max", "high", "none")}),
    ModelInfo("@cf/zai-org/glm-5.3", "text-generation", "zai-org", None, _oai | {REASONING}, "openai", description="GLM-5.3: reasoning/agentic model; reasoning always on (max|high|low).", extra={"reasoning_effort": ("max", "high", "low")}),
    ModelInfo("@cf/zai-org/glm-5.3-flash", "text-generation", "zai-org", None, _oai | {REASONING}, "openai", description="GLM-5.3-Flash: fast reasoning/agentic model; reasoning always on (max|high|low).", extra={"reasoning_effort": ("max", "high", "low")}),
    ModelInfo("@hf/google/gemma-7b-it", "text-generation", "google", None, _chat, "messages", description="Gemma 7B instruct.", extra=_dep),
    ModelInfo("@hf/mistral/mistral-7b-instruct-v0.2", "text-generation", "mistral", None, _chat, "messages", description="Mistral 7B Instruct v0.2.", extra=_dep),
    ModelInfo("@hf/nexusflow/starling-lm-7b-beta", "text-generation", "nexusflow", None, _chat, "messages", description="Starling-LM 7B beta: RLAIF-trained chat model.", extra=_dep),
    ModelInfo("@hf/nousresearch/hermes-2-pro-mistral-7b", "text-generation", "nousresearch", 24000, _chat | {TOOLS, JSON_MODE}, "messages", description="Hermes 2 Pro on Mistral 7B: retrained Nous Hermes 2 with a function calling and JSON mode dataset.", extra={"beta": True}),
    ModelInfo("@hf/thebloke/deepseek-coder-6.7b-base-awq", "text-generation", "thebloke", None, _chat, "messages", description="DeepSeek Coder 6.7B base (AWQ): code completion.", extra=_dep),
    ModelInfo("@hf/thebloke/deepseek-coder-6.7b-instruct-awq", "text-generation", "thebloke", None, _chat | {JSON_MODE}, "messages", description="DeepSeek Coder 6.7B instruct (AWQ): code generation.", extra=_dep),
    ModelInfo("@hf/thebloke/llama-2-13b-chat-awq", "text-generation", "thebloke", None, _chat, "messages", description="Llama 2 13B chat (AWQ).", extra=_dep),
    ModelInfo("@hf/thebloke/mistral-7b-instruct-v0.1-awq", "text-generation", "thebloke", None, _chat, "messages", description="Mistral 7B Instruct v0.1 (AWQ).", extra=_dep),
    ModelInfo("@hf/thebloke/neural-chat-7b-v3-1-awq", "text-generation", "thebloke", None, _chat, "messages", description="Intel Neural Chat 7B v3.1 (AWQ).", extra=_dep),
    ModelInfo("@hf/thebloke/openhermes-2.5-mistral-7b-awq", "text-generation", "thebloke", None, _chat, "messages", description="OpenHermes 2.5 Mistral 7B (AWQ).", extra=_dep),
    ModelInfo("@hf/thebloke/zephyr-7b-beta-awq", "text-generation", "thebloke", None, _chat, "messages", description="Zephyr 7B beta (AWQ).", extra=_dep),
    # ── text-to-image ─────────────────────────────────────────────────────────
    ModelInfo("@cf/black-forest-labs/flux-1-schnell", "text-to-image", "black-forest-labs", None, _none, "flux", description="FLUX.1 [schnell]: 12B rectified flow transformer generating images from text."),
    ModelInfo("@cf/black-forest-labs/flux-2-dev", "text-to-image", "black-forest-labs", None, _none, "flux-2", description="FLUX.2 [dev]: image generation and editing (multipart input)."),
    ModelInfo("@cf/black-forest-labs/flux-2-klein-4b", "text-to-image", "black-forest-labs", None, _none, "flux-2", description="FLUX.2 [klein] 4B: fast image generation and editing (multipart input)."),
    ModelInfo("@cf/black-forest-labs/flux-2-klein-9b", "text-to-image", "black-forest-labs", None, _none, "flux-2", description="FLUX.2 [klein] 9B: fast image generation and editing (multipart input)."),
    ModelInfo("@cf/bytedance/stable-diffusion-xl-lightning", "text-to-image", "bytedance", None, _none, "stable-diffusion", description="SDXL-Lightning: fast 1024px text-to-image in a few steps.", extra={"beta": True}),
    ModelInfo("@cf/leonardo/lucid-origin", "text-to-image", "leonardo", None, _none, "flux", description="Leonardo Lucid Origin: prompt-adherent, design- and text-capable image generation.", extra={"output": "json-image"}),
    ModelInfo("@cf/leonardo/phoenix-1.0", "text-to-image", "leonardo", None, _none, "phoenix", description="Leonardo Phoenix 1.0: image generation with strong prompt adherence and legible text."),
    ModelInfo("@cf/lykon/dreamshaper-8-lcm", "text-to-image", "lykon", None, _none, "stable-diffusion", description="DreamShaper 8 LCM: Stable Diffusion fine-tune for photorealism, fast LCM sampling."),
    ModelInfo("@cf/runwayml/stable-diffusion-v1-5-img2img", "text-to-image", "runwayml", None, _none, "stable-diffusion", description="Stable Diffusion v1.5 img2img: generate a new image from an input image and prompt.", extra={"beta": True, "needs_image": True}),
    ModelInfo("@cf/runwayml/stable-diffusion-v1-5-inpainting", "text-to-image", "runwayml", None, _none, "stable-diffusion", description="Stable Diffusion v1.5 inpainting: fill masked regions of an image from a prompt.", extra={"beta": True, "needs_image": True, "needs_mask": True}),
    ModelInfo("@cf/stabilityai/stable-diffusion-xl-base-1.0", "text-to-image", "stabilityai", None, _none, "stable-diffusion", description="Stable Diffusion XL base 1.0: diffusion-based text-to-image generation.", extra={"beta": True}),
    # ── text-to-speech ────────────────────────────────────────────────────────
    ModelInfo("@cf/deepgram/aura-1", "text-to-speech", "deepgram", None, _none, "aura", description="Deepgram Aura-1: context-aware English text-to-speech with natural pacing.", extra={"voices": ("angus", "asteria", "arcas", "orion", "orpheus", "athena", "luna", "zeus", "perseus", "helios", "hera", "stella")}),
    ModelInfo("@cf/deepgram/aura-2-en", "text-to-speech", "deepgram", None, _none, "aura", description="Deepgram Aura-2 English text-to-speech.", extra={"voices": ("amalthea", "andromeda", "apollo", "arcas", "aries", "asteria", "athena", "atlas", "aurora", "callista", "cora", "cordelia", "delia", "draco", "electra", "harmonia", "helena", "hera", "hermes", "hyperion", "iris", "janus", "juno", "jupiter", "luna", "mars", "minerva", "neptune", "odysseus", "ophelia", "orion", "orpheus", "pandora", "phoebe", "pluto", "saturn", "thalia", "theia", "vesta", "zeus")}),
    ModelInfo("@cf/deepgram/aura-2-es", "text-to-speech", "deepgram", None, _none, "aura", description="Deepgram Aura-2 Spanish text-to-speech.", extra={"voices": ("sirio", "nestor", "carina", "celeste", "alvaro", "diana", "aquila", "selena", "estrella", "javier")}),
    ModelInfo("@cf/myshell-ai/melotts", "text-to-speech", "myshell-ai", None, _none, "melotts", description="MeloTTS: high-quality multilingual text-to-speech (returns base64 MP3)."),
    # ── translation ───────────────────────────────────────────────────────────
    ModelInfo("@cf/ai4bharat/indictrans2-en-indic-1B", "translation", "ai4bharat", None, _none, "indictrans", description="IndicTrans2 1B: English → 22 Indic languages translation."),
    ModelInfo("@cf/meta/m2m100-1.2b", "translation", "meta", None, _none, "m2m100", description="M2M100 1.2B: many-to-many multilingual translation between 100 languages."),
    # ── voice-activity-detection ──────────────────────────────────────────────
    ModelInfo("@cf/pipecat-ai/smart-turn-v2", "voice-activity-detection", "pipecat-ai", None, _none, "smart-turn", description="Smart Turn v2: audio-native end-of-turn detection for voice agents."),
)

ALIASES: dict[str, str] = {  # (a dated snapshot, `gpt-4o-2024-08-06`, resolves as its name: catalog.SNAPSHOT)
    # chat
    "gpt-3.5-turbo": "@cf/meta/llama-3.1-8b-instruct-fast",
    "gpt-4o-mini": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-4.1-mini": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-4.1-nano": "@cf/meta/llama-3.1-8b-instruct-fast",
    "gpt-4o": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-4.1": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "gpt-4": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "gpt-4-turbo": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "gpt-4-32k": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "gpt-4-turbo-preview": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "gpt-4-0125-preview": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "gpt-4-1106-preview": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "gpt-4-vision-preview": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-3.5-turbo-16k": "@cf/meta/llama-3.1-8b-instruct-fast",
    # chat models without reasoning (ChatGPT's, the audio and search previews: text in, text out here)
    "chatgpt-4o-latest": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-5-chat-latest": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-5.1-chat-latest": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-5.2-chat-latest": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-5.3-chat-latest": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-4o-audio-preview": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-4o-mini-audio-preview": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-audio-mini": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-4o-search-preview": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "gpt-4o-mini-search-preview": "@cf/meta/llama-4-scout-17b-16e-instruct",
    # reasoning: OpenAI's open-weight reasoning models, the larger for the full-size names, the smaller for
    # mini / nano (and for the GPT-5.6 and GPT-6 tiers, whose sizes OpenAI does not state: the larger)
    "o1-mini": "@cf/openai/gpt-oss-20b",
    "o3-mini": "@cf/openai/gpt-oss-20b",
    "o4-mini": "@cf/openai/gpt-oss-20b",
    "o1": "@cf/openai/gpt-oss-120b",
    "o3": "@cf/openai/gpt-oss-120b",
    "o1-preview": "@cf/openai/gpt-oss-120b",
    "o1-pro": "@cf/openai/gpt-oss-120b",
    "o3-pro": "@cf/openai/gpt-oss-120b",
    "codex-mini-latest": "@cf/openai/gpt-oss-20b",
    **{name: "@cf/openai/gpt-oss-120b" for name in (
        "gpt-5", "gpt-5-pro", "gpt-5-codex", "gpt-5.1", "gpt-5.1-codex", "gpt-5.1-codex-max", "gpt-5.2",
        "gpt-5.2-pro", "gpt-5.4", "gpt-5.5", "gpt-5.5-pro", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna",
        "gpt-6-astra", "gpt-6-sol", "gpt-6-luna", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6.2-astra", "gpt-6.2-sol")},
    **{name: "@cf/openai/gpt-oss-20b" for name in (
        "gpt-5-mini", "gpt-5-nano", "gpt-5.1-mini", "gpt-5.4-mini", "gpt-5.4-nano")},
    "gpt-oss-120b": "@cf/openai/gpt-oss-120b",
    "gpt-oss-20b": "@cf/openai/gpt-oss-20b",
    "openai/gpt-oss-120b": "@cf/openai/gpt-oss-120b",
    "openai/gpt-oss-20b": "@cf/openai/gpt-oss-20b",
    # completions (/v1/completions' models: the instruct model as gpt-3.5-turbo, babbage as the smallest)
    "gpt-3.5-turbo-instruct": "@cf/meta/llama-3.1-8b-instruct-fast",
    "davinci-002": "@cf/meta/llama-3.1-8b-instruct-fast",
    "babbage-002": "@cf/meta/llama-3.2-1b-instruct",
    # embeddings
    "text-embedding-ada-002": "@cf/baai/bge-base-en-v1.5",
    "text-embedding-3-small": "@cf/baai/bge-base-en-v1.5",
    "text-embedding-3-large": "@cf/baai/bge-large-en-v1.5",
    # audio
    "whisper-1": "@cf/openai/whisper-large-v3-turbo",
    "gpt-4o-transcribe": "@cf/openai/whisper-large-v3-turbo",
    "gpt-4o-mini-transcribe": "@cf/openai/whisper-large-v3-turbo",
    "gpt-transcribe": "@cf/openai/whisper-large-v3-turbo",
    "tts-1": "@cf/myshell-ai/melotts",
    "tts-1-hd": "@cf/deepgram/aura-1",
    "gpt-4o-mini-tts": "@cf/deepgram/aura-2-en",
    # images
    "dall-e-2": "@cf/stabilityai/stable-diffusion-xl-base-1.0",
    "dall-e-3": "@cf/black-forest-labs/flux-1-schnell",
    **{name: "@cf/black-forest-labs/flux-1-schnell" for name in (
        "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2", "gpt-image-2.5-sunburst",
        "gpt-image-2.5-flare", "gpt-image-2.6-sunburst", "gpt-image-2.6-flare", "chatgpt-image-latest")},
    # moderation
    "omni-moderation-latest": "@cf/meta/llama-guard-3-8b",
    "omni-moderation-2024-09-26": "@cf/meta/llama-guard-3-8b",  # (the snapshot -latest names)
    "text-moderation-latest": "@cf/meta/llama-guard-3-8b",
    "text-moderation-stable": "@cf/meta/llama-guard-3-8b",
}
