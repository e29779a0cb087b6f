"""The Worker's AI adapter hands binary model inputs over: Nova-3's ``audio: {body, contentType}`` as
streams, ``Base64Bytes`` as base64 text."""

from __future__ import annotations

from .worker_world import worker_world


def test_body_and_content_type_become_a_stream() -> None:
    out = worker_world(
        """
        from openai_workers_ai.adapters.workers import WorkersAI

        class BodyResponse(Response):  # like the runtime's: `new Response(bytes).body` is a ReadableStream
            @classmethod
            def new(cls, body, headers=None, status=200, **init):
                r = super().new(body, headers, status, **init)
                r.body = ReadableStream([body.to_bytes()])
                return r

        js.Response = BodyResponse
        ai_binding = FakeAI(result=JsObject([("results", JsObject([]))]))
        ai = WorkersAI(ai_binding)

        async def main():
            await ai.run("@cf/deepgram/nova-3", {"audio": {"body": bytearray(b"RIFFxxxx"), "contentType": "audio/wav"},
                                                 "smart_format": True})
            _, inputs, _ = ai_binding.calls[-1]
            audio = inputs.audio
            assert isinstance(audio, JsObject) and audio.contentType == "audio/wav"
            assert isinstance(audio.body, ReadableStream)
            reader = audio.body.getReader()
            assert (await reader.read()).value.to_bytes() == b"RIFFxxxx"
            assert inputs.smart_format is True
            # any other dict with bytes stays a plain object with a Uint8Array
            await ai.run("@cf/x", {"image": {"body": b"x", "contentType": "image/png", "extra": 1}})
            assert isinstance(ai_binding.calls[-1][1].image.body, Uint8Array)
            # Base64Bytes become the base64 text the model takes
            from openai_workers_ai.ports import Base64Bytes
            await ai.run("@cf/openai/whisper-large-v3-turbo", {"audio": Base64Bytes(bytearray(b"RIFF")), "task": "transcribe"})
            assert ai_binding.calls[-1][1].audio == "UklGRg==" and ai_binding.calls[-1][1].task == "transcribe"

        run(main())
        print("ok")
        """
    )
    assert out.strip() == "ok"
