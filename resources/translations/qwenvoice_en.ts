<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>AppStatusBar</name>
    <message>
        <source>not connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>starting offline server…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>reconnecting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>disconnected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>connection failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ready (offline)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>reconnecting in %1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End of your speech to the first reply sample played at the speaker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens this session and an estimated cost (list prices; yours may differ)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>model: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>region: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>latency: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tokens: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cached: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TTS characters: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>free (offline)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Banner</name>
    <message>
        <source>Dismiss</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Bubble</name>
    <message>
        <source>interrupted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>incomplete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied ✓</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy this text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(typed)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryPanel</name>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export bundle…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Markdown transcript, both audio tracks and the event log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete this conversation: transcript, audio and events</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete all…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 turn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 turns</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete “%1” with its audio and events? This cannot be undone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete all conversations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete all %1 saved conversations with their audio and events? This cannot be undone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export the session bundle into</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>InspectorPanel</name>
    <message>
        <source>Filter by type, e.g. response.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>both directions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>server → app</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>app → server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hide audio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hide the audio appends and deltas (50 or more a second)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clear</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export JSONL…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select an event to see its JSON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2 shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export events</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LevelMeter</name>
    <message>
        <source>Microphone level</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hands-free</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Voice activity detection: just talk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Push to talk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hold the talk button or Space while you speak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the reply (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reconnect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type a message and press Enter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speech studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Event inspector</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inspector</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a key…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Release to send</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Listening… release to send.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hold to talk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Push to talk: hold the button or Space while you speak. Esc stops a reply.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Interrupt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hands-free: speaking during a reply interrupts it. Esc stops.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Listening</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hands-free: just talk; speaking during a reply interrupts it. Esc stops.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PlaybackPanel</name>
    <message>
        <source>idle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>prebuffering</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>playing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>flushed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Playback</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Volume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>target %1 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>underruns %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PresetBar</name>
    <message>
        <source>Load the selected preset into the fields below</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the current values as a preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename the selected preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the selected preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import presets from a JSON file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export these presets to a JSON file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No presets yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loaded preset “%1”. Apply to use it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fix the highlighted fields before saving a preset.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The preset was not saved: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved preset “%1”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported %1 preset(s) from %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skipped: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not write %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exported %1 preset(s) to %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace the preset “%1”?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the preset “%1”?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import presets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset files (*.json)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export presets</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsPanel</name>
    <message>
        <source>Settings — qwenvoice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Some saved settings could not be used: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>model default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Conversation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model and voice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Voice:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speech and text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Text only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replies:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System prompt: who the assistant is and how it should answer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Instructions:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Turn taking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Off (push-to-talk)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server voice detection (server_vad)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Semantic voice detection (semantic_vad)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Turn detection:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All of it, silences included</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>My speech and the replies (not the silences)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>None (transcript only)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workspace ID:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optional with Beijing or Singapore: connect through this workspace&apos;s endpoint (needed for qwen3.8).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Threshold:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Silence (ms):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Prefix padding (ms):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Idle timeout (ms):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Transcribe what I say</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Input:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temperature:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top p:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top k:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Max tokens:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repetition penalty:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Presence penalty:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model decides</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Conversational</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Formal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Style:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave a field empty to use the model&apos;s default. Values are checked as you type.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speech</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server decides when to speak (server_commit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speak when text is committed (commit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Audio format</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Format:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sample rate:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bit rate (kbps):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delivery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speech rate:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pitch:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Volume:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How to speak, e.g. “warm and unhurried, like a bedtime story”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Let the model refine the instructions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preview</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hello! This is how I sound with these settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preview voice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sample:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Alibaba Cloud — Beijing (China mainland)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Alibaba Cloud — Singapore (international)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Custom URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offline (built-in local server)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Region:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keys are per region: a Singapore key is refused in Beijing (HTTP 401) and the other way round.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Forget stored key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DashScope key:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No keyring here: store the key unencrypted in a private file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Audio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Microphone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Look for devices again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Input device:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Level:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Playback</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Output device:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test tone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speakers (the microphone can hear the assistant)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Headphones</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>I listen with:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel the assistant&apos;s echo from the microphone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mute the microphone while the assistant speaks (interrupt with the button or key)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Applies from the next conversation.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Echo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run echo self-test</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plays a short noise through the chosen output and listens with the chosen microphone, then suggests how to talk: over the speakers with echo cancellation, or with the microphone muted while the assistant speaks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use the recommendation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Now:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Look and language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Light</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dark</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved conversations keep:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Theme:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Both change as soon as you apply. “Follow the system” uses your desktop&apos;s language and its light or dark setting, and keeps following it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chinese</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>English</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>German</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Italian</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Portuguese</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Spanish</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Japanese</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Korean</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>French</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Russian</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allowed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not supported by %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only used with voice detection; push-to-talk is on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only used with server_vad.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 ignores sampling parameters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 does not let clients choose input transcription.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only used with the Opus format.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only instruct models (e.g. qwen3-tts-instruct-flash-realtime) take instructions; %1 does not.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>started by the app on 127.0.0.1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Available while the app is running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Audio devices can be chosen while the app is running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is not allowed. Allowed: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fix these fields before applying: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The settings could not be saved: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings applied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changes discarded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Store the key unencrypted?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This machine has no keyring. The key will be written unencrypted to %1 (readable only by your user account, but by every program you run). Setting DASHSCOPE_API_KEY in the environment avoids this. Store it in the file?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Key storage is not available.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The stored key will be forgotten on Apply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>•••• stored in a private file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>•••• stored in the keyring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>•••• from DASHSCOPE_API_KEY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paste your DashScope API key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DASHSCOPE_API_KEY is set in the environment; it takes precedence.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keys are kept in the system keyring; they are never shown again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This machine has no system keyring (Secret Service, KWallet, macOS Keychain or Windows Credential Manager). Set DASHSCOPE_API_KEY in the environment, or store the key in a private file below if you accept that risk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The system keyring has no working backend.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The system keyring is not usable.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The system keyring could not be read.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No keyring: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Without a key the app uses its built-in offline server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The API key was not stored: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app&apos;s event loop is not running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No API key: enter your DashScope key above (or set DASHSCOPE_API_KEY), or choose Offline.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fix the highlighted fields first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speaking…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preview failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The test tone could not play: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>With headphones the microphone cannot hear the assistant.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Playing a test sound and listening… (about 5 s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No audio is running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; microphone muted while the assistant speaks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Echo cancellation off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Echo cancellation bypassed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling with %1 · delay %2 · CPU %3 ms per 10 ms frame (p95 %4)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Audio devices could not be listed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (not connected)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The microphone could not be opened: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This build of the app cannot do that yet.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StudioPanel</name>
    <message>
        <source>Server decides segments (server_commit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One segment per paragraph (commit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type or paste text to speak…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save WAV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%v of %m segments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing to speak: type some text first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speaking…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save speech</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ToolCard</name>
    <message>
        <source>running…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>denied</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>timed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown tool</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>allowed (always, for this session)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>allowed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Error: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tool</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Arguments: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show less</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This tool acts rather than only reads. Let it run?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allow</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Always allow</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allow this tool without asking until the app quits</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deny</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TranscriptView</name>
    <message>
        <source>Say something, hold the talk button (or Space), or type a message below.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WaveformView</name>
    <message>
        <source>You</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>last %1 s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Widgets</name>
    <message>
        <source>A value is required.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a whole number, not %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is not a number.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
