"""``POST /v1/audio/translations``: speech in any language → English text.

Workers AI's Whisper large-v3-turbo transcribes and reports the spoken language
(``transcription_info.language``); English audio is returned as transcribed,
anything else is translated segment by segment with ``@cf/meta/m2m100-1.2b``
(so ``srt``/``vtt``/``verbose_json`` keep Whisper's timings). We do not use
Whisper's own ``task: "translate"``: the turbo model was not trained for it.
``@cf/openai/whisper-tiny-en`` hears only English, so it needs no translation;
models that do not report the language (``@cf/openai/whisper``, Nova-3) are refused.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest, UpstreamError
from ..fanout import gather_bounded
from ..ports import AI
from ..translate import audio
from ..translate.audio import Segment, Transcript
from ..types.audio import CreateTranslationRequest
from ._audio import ASR, read_upload, render

TRANSLATOR = "@cf/meta/m2m100-1.2b"
CONCURRENCY = 4  # m2m100 calls in flight per request


async def create(request: Request) -> Response:
    ctx = context(request)
    body, upload, fmt, duration = await read_upload(request, CreateTranslationRequest)
    info = ctx.catalog.resolve(body.model, task=ASR)
    if info.family != "whisper-v3" and not info.id.endswith("whisper-tiny-en"):
        raise InvalidRequest(
            f"The model `{body.model}` does not report the spoken language, so it cannot translate; "
            "use whisper-1 (@cf/openai/whisper-large-v3-turbo).", param="model", code="model_not_supported",
        )
    inputs = audio.transcription_inputs(info, upload.data, fmt, release=True)
    del upload
    output = await ctx.backends.ai.run(info.id, inputs)
    del inputs
    transcript = audio.transcript_from(info, output, duration=duration)
    if transcript.language is None:
        raise UpstreamError(f"{info.id} did not report the spoken language.")
    if transcript.language != "en":
        transcript = await translate(ctx.backends.ai, transcript)
    return render(transcript, body.response_format, "translate")


async def translate(ai: AI, transcript: Transcript) -> Transcript:
    """Each segment's text in English (timings kept, word timings dropped)."""
    source = transcript.language or "en"

    async def one(segment: Segment) -> Segment:
        if not segment.text.strip():
            return segment
        output = await ai.run(TRANSLATOR, audio.translation_input(segment.text.strip(), source))
        return Segment(segment.start, segment.end, " " + audio.translated_text(output), segment.temperature,
                       segment.avg_logprob, segment.compression_ratio, segment.no_speech_prob)

    segments = await gather_bounded([partial(one, s) for s in transcript.segments], CONCURRENCY)
    return transcript.translated(segments)
