# ruff: noqa: E501 — verbatim protocol frames are long lines on purpose
"""Example frames, verbatim from the published event references (test data).

The Omni server examples and the TTS client examples are the documented JSON examples; the only edit is
the audio delta, whose documented value is the placeholder "{base64 audio}" and is real base64 here.
The other lists are written from the field tables of the protocol reference (sections c and d).
"""

OMNI_SERVER_EXAMPLES: list[str] = [
    r"""{
"event_id": "event_RoUu4T8yExPMI37GKwaOC",
"type": "error",
"error": {
"type": "invalid_request_error",
"code": "invalid_value",
"message": "Invalid modalities: ['audio']. Supported combinations are: ['text'] and ['audio', 'text'].",
"param": "session.modalities"
}
}""",
    r"""{
"event_id": "event_RdvlSpbBb2ssyBjYrDHjt",
"type": "session.created",
"session": {
"object": "realtime.session",
"model": "qwen3-omni-flash-realtime",
"modalities": [
"text",
"audio"
],
"voice": "Cherry",
"input_audio_format": "pcm16",
"output_audio_format": "pcm24",
"input_audio_transcription": {
"model": "gummy-realtime-v1"
},
"turn_detection": {
"type": "server_vad",
"threshold": 0.5,
"prefix_padding_ms": 300,
"silence_duration_ms": 800,
"create_response": true,
"interrupt_response": true
},
"tools": [],
"tool_choice": "auto",
"temperature": 0.8,
"id": "sess_Ov7GOXoNXhNjlxXtOGKQS"
}
}""",
    r"""{
"event_id": "event_X1HsXS4b4uptp6yo1LgKd",
"type": "session.updated",
"session": {
"id": "sess_Aih6vAcY5Ddt6jwFx1tCa",
"object": "realtime.session",
"model": "qwen3-omni-flash-realtime",
"modalities": [
"text",
"audio"
],
"instructions": "You are a personal assistant named Xiaoyun. Please answer user questions accurately and in a friendly manner, always responding with a helpful attitude.",
"voice": "Cherry",
"input_audio_format": "pcm16",
"output_audio_format": "pcm24",
"input_audio_transcription": {
"model": "gummy-realtime-v1"
},
"turn_detection": {
"type": "server_vad",
"threshold": 0.1,
"prefix_padding_ms": 500,
"silence_duration_ms": 900,
"create_response": true,
"interrupt_response": true
},
"temperature": 0.8,
"max_response_output_token": "inf",
"max_tokens": 16384,
"repetition_penalty": 1.05,
"presence_penalty": 0.0,
"top_k": 50,
"top_p": 1.0,
"seed":-1
}
}""",
    r"""{
"event_id": "event_Pvp8nEhsQuGCQbFJ9x58n",
"type": "input_audio_buffer.speech_started",
"audio_start_ms": 3647,
"item_id": "item_YbAiGvK2H7YaS34o4R6Ba"
}""",
    r"""{
"event_id": "event_UhQiqNVRsgUiq4KUS5Xb5",
"type": "input_audio_buffer.speech_stopped",
"audio_end_ms": 4453,
"item_id": "item_YbAiGvK2H7YaS34o4R6Ba"
}""",
    r"""{
"event_id": "event_Iy6sUzL1nmdFgshFYxJEz",
"type": "input_audio_buffer.committed",
"item_id": "item_YbAiGvK2H7YaS34o4R6Ba"
}""",
    r"""{
"event_id": "event_RoUu4T8yExPMI37GKwaOC",
"type": "input_audio_buffer.cleared"
}""",
    r"""{
"event_id": "event_JEfkrr9gO3Ny7Xcv9bGVd",
"type": "conversation.item.created",
"item": {
"id": "item_YbAiGvK2H7YaS34o4R6Ba",
"object": "realtime.item",
"type": "message",
"status": "in_progress",
"role": "assistant",
"content": [
{
"type": "input_audio"
}
]
}
}""",
    r"""{
"event_id": "event_FrrZcxiDfTB9LD9p4pVng",
"type": "conversation.item.input_audio_transcription.completed",
"item_id": "item_YbAiGvK2H7YaS34o4R6Ba",
"content_index": 0,
"transcript": "Hello."
}""",
    r"""{
"type": "conversation.item.input_audio_transcription.failed",
"item_id": "<item_id>",
"content_index": 0,
"error": {
"code": "<code>",
"message": "<message>",
"param": "<param>"
}
}""",
    r"""{
"event_id": "event_XuDavMzQN3KKepqGu3KRh",
"type": "response.created",
"response": {
"id": "resp_HaVOPdbmX6vifiV5pAfJY",
"object": "realtime.response",
"conversation_id": "conv_FjJaccpnvwHNo9cPVuzGc",
"status": "in_progress",
"modalities": [
"text",
"audio"
],
"voice": "Cherry",
"output_audio_format": "pcm24",
"output": []
}
}""",
    r"""{
"event_id": "event_CSaxRRYLvbrfexDXAEuDG",
"type": "response.done",
"response": {
"id": "resp_HaVOPdbmX6vifiV5pAfJY",
"object": "realtime.response",
"conversation_id": "conv_FjJaccpnvwHNo9cPVuzGc",
"status": "completed",
"modalities": [
"text",
"audio"
],
"voice": "Cherry",
"output_audio_format": "pcm24",
"output": [
{
"id": "item_Ls6MtCUWO7LM4E59QziNv",
"object": "realtime.item",
"type": "message",
"status": "completed",
"role": "assistant",
"content": [
{
"type": "audio",
"transcript": "Hello! Is there anything I can help you with?"
}
]
}
],
"usage": {
"total_tokens": 377,
"input_tokens": 336,
"output_tokens": 41,
"input_tokens_details": {
"text_tokens": 228,
"audio_tokens": 108
},
"output_tokens_details": {
"text_tokens": 9,
"audio_tokens": 32
}
}
}
}""",
    r"""{
"delta": "Hello",
"event_id": "event_TH49MauuPmRo1RGaMSlP7",
"type": "response.text.delta",
"response_id": "resp_PrRSvPVpnCExdUOGHHLuP",
"item_id": "item_L8IRm9kRXFpxoOjDqDC96",
"output_index": 0,
"content_index": 0
}""",
    r"""{
"event_id": "event_B1lIeE2Nac33zn5V7h2mm",
"type": "response.text.done",
"response_id": "resp_B1lIdtjF4Noqpn5NOjznj",
"item_id": "item_B1lIdJsAJlJiFs8ztWpJt",
"output_index": 0,
"content_index": 0,
"text": "How can I assist you today?"
}""",
    r"""{
"event_id": "event_B1osWMZBtrEQbiIwW0qHQ",
"type": "response.audio.delta",
"response_id": "resp_P79OOMs8LnrXVpiIHUCKR",
"item_id": "item_OFaPGtzfWCPyGzxnuEX9i",
"output_index": 0,
"content_index": 0,
"delta": "AAABAP//AIA="
}""",
    r"""{
"event_id": "event_Le1TDl7VfyHQxl47DtGxI",
"type": "response.audio.done",
"response_id": "resp_HaVOPdbmX6vifiV5pAfJY",
"item_id": "item_Ls6MtCUWO7LM4E59QziNv",
"output_index": 0,
"content_index": 0
}""",
    r"""{
"event_id": "event_BksW7fOwnyavZdDxIzZYM",
"type": "response.audio_transcript.delta",
"response_id": "resp_HaVOPdbmX6vifiV5pAfJY",
"item_id": "item_Ls6MtCUWO7LM4E59QziNv",
"output_index": 0,
"content_index": 0,
"delta": "Is there anything"
}""",
    r"""{
"event_id": "event_X49tL2WerT4WjxcmH16lS",
"type": "response.audio_transcript.done",
"response_id": "resp_HaVOPdbmX6vifiV5pAfJY",
"item_id": "item_Ls6MtCUWO7LM4E59QziNv",
"output_index": 0,
"content_index": 0,
"transcript": "Hello! Is there anything I can help you with?"
}""",
    r"""{
"event_id": "event_DsCO341DEVtiATtCB6BUY",
"type": "response.output_item.added",
"response_id": "resp_HaVOPdbmX6vifiV5pAfJY",
"output_index": 0,
"item": {
"id": "item_Ls6MtCUWO7LM4E59QziNv",
"object": "realtime.item",
"type": "message",
"status": "in_progress",
"role": "assistant",
"content": []
}
}""",
    r"""{
"event_id": "event_MEu5nlLw1LsOguHiehIP8",
"type": "response.output_item.done",
"response_id": "resp_HaVOPdbmX6vifiV5pAfJY",
"output_index": 0,
"item": {
"id": "item_Ls6MtCUWO7LM4E59QziNv",
"object": "realtime.item",
"type": "message",
"status": "completed",
"role": "assistant",
"content": [
{
"type": "audio",
"text": "Hello! Is there anything I can help you with?"
}
]
}
}""",
    r"""{
"event_id": "event_AVBOmrgY3C8bjlRajfSUT",
"type": "response.content_part.added",
"response_id": "resp_HaVOPdbmX6vifiV5pAfJY",
"item_id": "item_Ls6MtCUWO7LM4E59QziNv",
"output_index": 0,
"content_index": 0,
"part": {
"type": "audio",
"text": ""
}
}""",
    r"""{
"event_id": "event_Il8HD19v58Qr5IBkw7LtN",
"type": "response.content_part.done",
"response_id": "resp_HaVOPdbmX6vifiV5pAfJY",
"item_id": "item_Ls6MtCUWO7LM4E59QziNv",
"output_index": 0,
"content_index": 0,
"part": {
"type": "audio",
"text": "Hello! Is there anything I can help you with?"
}
}""",
]

TTS_CLIENT_EXAMPLES: list[str] = [
    r"""{
"event_id": "event_123",
"type": "session.update",
"session": {
"voice": "Cherry",
"mode": "server_commit",
"language_type": "Chinese",
"response_format": "pcm",
"sample_rate": 24000,
"instructions": "",
"optimize_instructions": false
}
}""",
    r"""{
"event_id": "event_B4o9RHSTWobB5OQdEHLTo",
"type": "input_text_buffer.append",
"text": "Hello, I am Qwen."
}""",
    r"""{
"event_id": "event_B4o9RHSTWobB5OQdEHLTo",
"type": "input_text_buffer.commit"
}""",
    r"""{
"event_id": "event_2728",
"type": "input_text_buffer.clear"
}""",
    r"""{
"event_id": "event_2239",
"type": "session.finish"
}""",
]

OMNI_EXTRA_SERVER_EXAMPLES: list[str] = [
    r"""{"event_id":"event_t1","type":"conversation.item.input_audio_transcription.delta","item_id":"item_u1","content_index":0,"text":"Hello","stash":" there","language":"en","emotion":"neutral"}""",
    r"""{"event_id":"event_f1","type":"response.function_call_arguments.delta","response_id":"resp_1","item_id":"item_fc","output_index":0,"call_id":"call_1","delta":"{\"city\":"}""",
    r"""{"event_id":"event_f2","type":"response.function_call_arguments.done","response_id":"resp_1","item_id":"item_fc","output_index":0,"call_id":"call_1","name":"get_weather","arguments":" {\"city\":\"Hangzhou\"}"}""",
    r"""{"event_id":"event_s9","type":"session.finished"}""",
    r"""{"event_id":"event_e2","type":"error","error":{"type":"invalid_request_error","code":"invalid_value","message":"Error append image before append audio.","param":"input_image_buffer","event_id":"event_c7"}}""",
    r"""{"event_id":"event_c2","type":"input_audio_buffer.committed","item_id":"item_2","previous_item_id":"item_1"}""",
]

OMNI_CLIENT_EXAMPLES: list[str] = [
    r"""{"event_id":"event_1","type":"session.update","session":{"modalities":["text","audio"],"voice":"Cherry","input_audio_format":"pcm16","output_audio_format":"pcm24","instructions":"Be brief.","turn_detection":null}}""",
    r"""{"event_id":"event_2","type":"input_audio_buffer.append","audio":"AAABAP//AIA="}""",
    r"""{"event_id":"event_3","type":"input_audio_buffer.commit"}""",
    r"""{"event_id":"event_4","type":"input_audio_buffer.clear"}""",
    r"""{"event_id":"event_5","type":"input_image_buffer.append","image":"/9j/4AAQSkZJRg=="}""",
    r"""{"event_id":"event_6","type":"response.create"}""",
    r"""{"event_id":"event_6b","type":"response.create","response":{"instructions":"Answer in English.","modalities":["text"]}}""",
    r"""{"event_id":"event_7","type":"response.cancel"}""",
    r"""{"event_id":"event_8","type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"Hi"}]}}""",
    r"""{"event_id":"event_8b","type":"conversation.item.create","previous_item_id":"item_3","item":{"id":"item_ab","type":"function_call_output","call_id":"call_1","output":"sunny"}}""",
    r"""{"event_id":"event_9","type":"session.finish"}""",
]

TTS_SERVER_EXAMPLES: list[str] = [
    r"""{"event_id":"event_a1","type":"session.created","session":{"id":"sess_1","object":"realtime.session","mode":"server_commit","model":"qwen3-tts-flash-realtime","voice":"Cherry","response_format":"pcm","sample_rate":24000}}""",
    r"""{"event_id":"event_a2","type":"session.updated","session":{"id":"sess_1","object":"realtime.session","model":"qwen3-tts-flash-realtime","voice":"Cherry","language_type":"Chinese","mode":"server_commit","response_format":"pcm","sample_rate":24000}}""",
    r"""{"event_id":"event_a3","type":"input_text_buffer.committed","item_id":""}""",
    r"""{"event_id":"event_a4","type":"input_text_buffer.cleared"}""",
    r"""{"event_id":"event_a5","type":"response.created","response":{"id":"resp_t1","object":"realtime.response","conversation_id":"","status":"in_progress","voice":"Cherry","output":[]}}""",
    r"""{"event_id":"event_a6","type":"response.output_item.added","response_id":"resp_t1","output_index":0,"item":{"id":"item_t1","object":"realtime.item","type":"message","status":"in_progress","role":"assistant","content":[]}}""",
    r"""{"event_id":"event_a7","type":"response.content_part.added","response_id":"resp_t1","item_id":"item_t1","output_index":0,"content_index":0,"part":{"type":"audio","text":""}}""",
    r"""{"event_id":"event_a8","type":"response.audio.delta","response_id":"resp_t1","item_id":"item_t1","output_index":0,"content_index":0,"delta":"AAABAP//AIA="}""",
    r"""{"event_id":"event_a9","type":"response.audio.done","response_id":"resp_t1","item_id":"item_t1","output_index":0,"content_index":0}""",
    r"""{"event_id":"event_b1","type":"response.content_part.done","response_id":"resp_t1","item_id":"item_t1","output_index":0,"content_index":0,"part":{"type":"audio","text":""}}""",
    r"""{"event_id":"event_b2","type":"response.output_item.done","response_id":"resp_t1","output_index":0,"item":{"id":"item_t1","object":"realtime.item","type":"message","status":"completed","role":"assistant","content":[{"type":"audio","text":""}]}}""",
    r"""{"event_id":"event_b3","type":"response.done","response":{"id":"resp_t1","object":"realtime.response","conversation_id":"","status":"completed","modalities":["text","audio"],"voice":"Cherry","output":[{"id":"item_t1","object":"realtime.item","type":"message","status":"completed","role":"assistant","content":[{"type":"audio","transcript":""}]}],"usage":{"characters":17}}}""",
    r"""{"event_id":"event_b4","type":"error","error":{"code":"invalid_value","message":"Session update error: session already started or finished or failed."}}""",
    r"""{"event_id":"event_b5","type":"session.finished"}""",
]
