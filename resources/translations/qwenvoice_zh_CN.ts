<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>AppStatusBar</name>
    <message>
        <source>not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <source>starting offline server…</source>
        <translation>正在启动离线服务器…</translation>
    </message>
    <message>
        <source>connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>reconnecting</source>
        <translation>正在重新连接</translation>
    </message>
    <message>
        <source>disconnected</source>
        <translation>已断开</translation>
    </message>
    <message>
        <source>connection failed</source>
        <translation>连接失败</translation>
    </message>
    <message>
        <source>ready (offline)</source>
        <translation>就绪（离线）</translation>
    </message>
    <message>
        <source>reconnecting in %1 s</source>
        <translation>%1 秒后重新连接</translation>
    </message>
    <message>
        <source>End of your speech to the first reply sample played at the speaker</source>
        <translation>从你说完到扬声器播放出回复第一个采样的时间</translation>
    </message>
    <message>
        <source>Tokens this session and an estimated cost (list prices; yours may differ)</source>
        <translation>本次会话的词元数与预估费用（按公开价格，实际可能不同）</translation>
    </message>
    <message>
        <source>model: </source>
        <translation>模型：</translation>
    </message>
    <message>
        <source>region: </source>
        <translation>地域：</translation>
    </message>
    <message>
        <source>latency: </source>
        <translation>延迟：</translation>
    </message>
    <message>
        <source>tokens: </source>
        <translation>词元：</translation>
    </message>
    <message>
        <source>cached: </source>
        <translation>已缓存：</translation>
    </message>
    <message>
        <source>TTS characters: </source>
        <translation>TTS 字符：</translation>
    </message>
    <message>
        <source>free (offline)</source>
        <translation>免费（离线）</translation>
    </message>
</context>
<context>
    <name>Banner</name>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>Bubble</name>
    <message>
        <source>interrupted</source>
        <translation>已打断</translation>
    </message>
    <message>
        <source>incomplete</source>
        <translation>不完整</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Copied ✓</source>
        <translation>已复制 ✓</translation>
    </message>
    <message>
        <source>Copy this text</source>
        <translation>复制这段文字</translation>
    </message>
    <message>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <source>(typed)</source>
        <translation>（键入）</translation>
    </message>
</context>
<context>
    <name>HistoryPanel</name>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Export bundle…</source>
        <translation>导出会话包…</translation>
    </message>
    <message>
        <source>Markdown transcript, both audio tracks and the event log</source>
        <translation>Markdown 文字记录、双方音轨和事件日志</translation>
    </message>
    <message>
        <source>Select a conversation</source>
        <translation>选择一个对话</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <source>Delete this conversation: transcript, audio and events</source>
        <translation>删除此对话：文字记录、音频和事件</translation>
    </message>
    <message>
        <source>Delete all…</source>
        <translation>全部删除…</translation>
    </message>
    <message>
        <source>1 turn</source>
        <translation>1 轮</translation>
    </message>
    <message>
        <source>%1 turns</source>
        <translation>%1 轮</translation>
    </message>
    <message>
        <source>Delete conversation</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <source>Delete “%1” with its audio and events? This cannot be undone.</source>
        <translation>删除“%1”及其音频和事件？此操作无法撤销。</translation>
    </message>
    <message>
        <source>Delete all conversations</source>
        <translation>删除全部对话</translation>
    </message>
    <message>
        <source>Delete all %1 saved conversations with their audio and events? This cannot be undone.</source>
        <translation>删除全部 %1 个已保存的对话及其音频和事件？此操作无法撤销。</translation>
    </message>
    <message>
        <source>Export the session bundle into</source>
        <translation>将会话包导出到</translation>
    </message>
</context>
<context>
    <name>InspectorPanel</name>
    <message>
        <source>Filter by type, e.g. response.</source>
        <translation>按类型筛选，例如 response.</translation>
    </message>
    <message>
        <source>both directions</source>
        <translation>双向</translation>
    </message>
    <message>
        <source>server → app</source>
        <translation>服务器 → 应用</translation>
    </message>
    <message>
        <source>app → server</source>
        <translation>应用 → 服务器</translation>
    </message>
    <message>
        <source>Hide audio</source>
        <translation>隐藏音频</translation>
    </message>
    <message>
        <source>Hide the audio appends and deltas (50 or more a second)</source>
        <translation>隐藏音频追加和增量事件（每秒 50 条以上）</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清空</translation>
    </message>
    <message>
        <source>Export JSONL…</source>
        <translation>导出 JSONL…</translation>
    </message>
    <message>
        <source>Select an event to see its JSON</source>
        <translation>选择一个事件以查看其 JSON</translation>
    </message>
    <message>
        <source>%1 of %2 shown</source>
        <translation>已显示 %1 / %2 条</translation>
    </message>
    <message>
        <source>%1 shown</source>
        <translation type="vanished">已显示 %1 条</translation>
    </message>
    <message>
        <source>Export events</source>
        <translation>导出事件</translation>
    </message>
</context>
<context>
    <name>LevelMeter</name>
    <message>
        <source>Microphone level</source>
        <translation>麦克风电平</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <source>Hands-free</source>
        <translation>免提</translation>
    </message>
    <message>
        <source>Voice activity detection: just talk</source>
        <translation>语音活动检测：直接说话即可</translation>
    </message>
    <message>
        <source>Push to talk</source>
        <translation>按键说话</translation>
    </message>
    <message>
        <source>Hold the talk button or Space while you speak</source>
        <translation>说话时按住通话按钮或空格键</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Stop the reply (Esc)</source>
        <translation>停止回复（Esc）</translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation>新对话</translation>
    </message>
    <message>
        <source>Reconnect</source>
        <translation>重新连接</translation>
    </message>
    <message>
        <source>Type a message and press Enter</source>
        <translation>输入消息后按回车</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>Speech studio</source>
        <translation>语音工作室</translation>
    </message>
    <message>
        <source>History</source>
        <translation>历史</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Event inspector</source>
        <translation>事件检查器</translation>
    </message>
    <message>
        <source>Inspector</source>
        <translation>检查器</translation>
    </message>
    <message>
        <source>Add a key…</source>
        <translation>添加密钥…</translation>
    </message>
    <message>
        <source>Open settings</source>
        <translation>打开设置</translation>
    </message>
    <message>
        <source>Release to send</source>
        <translation>松开即发送</translation>
    </message>
    <message>
        <source>Listening… release to send.</source>
        <translation>正在聆听…松开即发送。</translation>
    </message>
    <message>
        <source>Listening… release to send</source>
        <translation type="vanished">正在聆听…松开即发送</translation>
    </message>
    <message>
        <source>Release to send.</source>
        <translation type="vanished">松开即发送。</translation>
    </message>
    <message>
        <source>Hold to talk</source>
        <translation>按住说话</translation>
    </message>
    <message>
        <source>Push to talk: hold the button or Space while you speak. Esc stops a reply.</source>
        <translation>按键说话：说话时按住按钮或空格键。Esc 停止回复。</translation>
    </message>
    <message>
        <source>Interrupt</source>
        <translation>打断</translation>
    </message>
    <message>
        <source>Hands-free: speaking during a reply interrupts it. Esc stops.</source>
        <translation>免提：在回复时说话会打断它。按 Esc 停止。</translation>
    </message>
    <message>
        <source>Listening</source>
        <translation>正在聆听</translation>
    </message>
    <message>
        <source>Hands-free: just talk; speaking during a reply interrupts it. Esc stops.</source>
        <translation>免提：直接说话；在回复时说话会打断它。Esc 停止。</translation>
    </message>
</context>
<context>
    <name>PlaybackPanel</name>
    <message>
        <source>idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>prebuffering</source>
        <translation>预缓冲中</translation>
    </message>
    <message>
        <source>playing</source>
        <translation>播放中</translation>
    </message>
    <message>
        <source>flushed</source>
        <translation>已清空</translation>
    </message>
    <message>
        <source>Playback</source>
        <translation>播放</translation>
    </message>
    <message>
        <source>Volume</source>
        <translation>音量</translation>
    </message>
    <message>
        <source>target %1 ms</source>
        <translation>目标 %1 毫秒</translation>
    </message>
    <message>
        <source>underruns %1</source>
        <translation>欠载 %1 次</translation>
    </message>
</context>
<context>
    <name>PresetBar</name>
    <message>
        <source>Load the selected preset into the fields below</source>
        <translation>将所选预设载入下方字段</translation>
    </message>
    <message>
        <source>Save the current values as a preset</source>
        <translation>将当前数值保存为预设</translation>
    </message>
    <message>
        <source>Rename the selected preset</source>
        <translation>重命名所选预设</translation>
    </message>
    <message>
        <source>Delete the selected preset</source>
        <translation>删除所选预设</translation>
    </message>
    <message>
        <source>Import presets from a JSON file</source>
        <translation>从 JSON 文件导入预设</translation>
    </message>
    <message>
        <source>Export these presets to a JSON file</source>
        <translation>将这些预设导出为 JSON 文件</translation>
    </message>
    <message>
        <source>Preset:</source>
        <translation>预设：</translation>
    </message>
    <message>
        <source>Load</source>
        <translation>载入</translation>
    </message>
    <message>
        <source>No presets yet</source>
        <translation>尚无预设</translation>
    </message>
    <message>
        <source>Loaded preset “%1”. Apply to use it.</source>
        <translation>已载入预设“%1”。点击“应用”后生效。</translation>
    </message>
    <message>
        <source>Fix the highlighted fields before saving a preset.</source>
        <translation>请先修正标出的字段，再保存预设。</translation>
    </message>
    <message>
        <source>The preset was not saved: %1</source>
        <translation>预设未保存：%1</translation>
    </message>
    <message>
        <source>Saved preset “%1”.</source>
        <translation>已保存预设“%1”。</translation>
    </message>
    <message>
        <source>Imported %1 preset(s) from %2.</source>
        <translation>已从 %2 导入 %1 个预设。</translation>
    </message>
    <message>
        <source>Skipped: %1</source>
        <translation>已跳过：%1</translation>
    </message>
    <message>
        <source>Could not write %1: %2</source>
        <translation>无法写入 %1：%2</translation>
    </message>
    <message>
        <source>Exported %1 preset(s) to %2.</source>
        <translation>已将 %1 个预设导出到 %2。</translation>
    </message>
    <message>
        <source>Save preset</source>
        <translation>保存预设</translation>
    </message>
    <message>
        <source>Preset name:</source>
        <translation>预设名称：</translation>
    </message>
    <message>
        <source>Replace preset</source>
        <translation>替换预设</translation>
    </message>
    <message>
        <source>Replace the preset “%1”?</source>
        <translation>替换预设“%1”？</translation>
    </message>
    <message>
        <source>Rename preset</source>
        <translation>重命名预设</translation>
    </message>
    <message>
        <source>New name:</source>
        <translation>新名称：</translation>
    </message>
    <message>
        <source>Delete preset</source>
        <translation>删除预设</translation>
    </message>
    <message>
        <source>Delete the preset “%1”?</source>
        <translation>删除预设“%1”？</translation>
    </message>
    <message>
        <source>Import presets</source>
        <translation>导入预设</translation>
    </message>
    <message>
        <source>Preset files (*.json)</source>
        <translation>预设文件 (*.json)</translation>
    </message>
    <message>
        <source>Export presets</source>
        <translation>导出预设</translation>
    </message>
</context>
<context>
    <name>SettingsPanel</name>
    <message>
        <source>Settings — qwenvoice</source>
        <translation>设置 — qwenvoice</translation>
    </message>
    <message>
        <source>Some saved settings could not be used: %1</source>
        <translation>部分已保存的设置无法使用：%1</translation>
    </message>
    <message>
        <source>model default</source>
        <translation>模型默认值</translation>
    </message>
    <message>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <source>Model and voice</source>
        <translation>模型与音色</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <source>Voice:</source>
        <translation>音色：</translation>
    </message>
    <message>
        <source>Speech and text</source>
        <translation>语音和文字</translation>
    </message>
    <message>
        <source>Text only</source>
        <translation>仅文字</translation>
    </message>
    <message>
        <source>Replies:</source>
        <translation>回复形式：</translation>
    </message>
    <message>
        <source>System prompt: who the assistant is and how it should answer.</source>
        <translation>系统提示词：助手的身份以及回答方式。</translation>
    </message>
    <message>
        <source>Instructions:</source>
        <translation>指令：</translation>
    </message>
    <message>
        <source>Turn taking</source>
        <translation>轮流发言</translation>
    </message>
    <message>
        <source>Off (push-to-talk)</source>
        <translation>关闭（按键说话）</translation>
    </message>
    <message>
        <source>Server voice detection (server_vad)</source>
        <translation>服务端语音检测 (server_vad)</translation>
    </message>
    <message>
        <source>Semantic voice detection (semantic_vad)</source>
        <translation>语义语音检测 (semantic_vad)</translation>
    </message>
    <message>
        <source>Turn detection:</source>
        <translation>轮次检测：</translation>
    </message>
    <message>
        <source>All of it, silences included</source>
        <translation>全部（包括静音）</translation>
    </message>
    <message>
        <source>My speech and the replies (not the silences)</source>
        <translation>我的语音和回复（不含静音）</translation>
    </message>
    <message>
        <source>None (transcript only)</source>
        <translation>不保存（仅文字记录）</translation>
    </message>
    <message>
        <source>Workspace ID:</source>
        <translation>工作空间 ID：</translation>
    </message>
    <message>
        <source>Optional with Beijing or Singapore: connect through this workspace&apos;s endpoint (needed for qwen3.8).</source>
        <translation>北京或新加坡地域可选：通过此工作空间的接入点连接（qwen3.8 需要）。</translation>
    </message>
    <message>
        <source>Threshold:</source>
        <translation>阈值：</translation>
    </message>
    <message>
        <source>Silence (ms):</source>
        <translation>静音时长（毫秒）：</translation>
    </message>
    <message>
        <source>Prefix padding (ms):</source>
        <translation>前置填充（毫秒）：</translation>
    </message>
    <message>
        <source>Idle timeout (ms):</source>
        <translation>空闲超时（毫秒）：</translation>
    </message>
    <message>
        <source>Transcribe what I say</source>
        <translation>转写我说的话</translation>
    </message>
    <message>
        <source>Input:</source>
        <translation>输入：</translation>
    </message>
    <message>
        <source>Generation</source>
        <translation>生成</translation>
    </message>
    <message>
        <source>Temperature:</source>
        <translation>温度：</translation>
    </message>
    <message>
        <source>Top p:</source>
        <translation>Top p：</translation>
    </message>
    <message>
        <source>Top k:</source>
        <translation>Top k：</translation>
    </message>
    <message>
        <source>Max tokens:</source>
        <translation>最大词元数：</translation>
    </message>
    <message>
        <source>Repetition penalty:</source>
        <translation>重复惩罚：</translation>
    </message>
    <message>
        <source>Presence penalty:</source>
        <translation>存在惩罚：</translation>
    </message>
    <message>
        <source>Seed:</source>
        <translation>随机种子：</translation>
    </message>
    <message>
        <source>Model decides</source>
        <translation>由模型决定</translation>
    </message>
    <message>
        <source>Conversational</source>
        <translation>口语化</translation>
    </message>
    <message>
        <source>Formal</source>
        <translation>书面化</translation>
    </message>
    <message>
        <source>Style:</source>
        <translation>风格：</translation>
    </message>
    <message>
        <source>Leave a field empty to use the model&apos;s default. Values are checked as you type.</source>
        <translation>字段留空即使用模型默认值。输入时会即时校验。</translation>
    </message>
    <message>
        <source>Speech</source>
        <translation>语音合成</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>语言：</translation>
    </message>
    <message>
        <source>Server decides when to speak (server_commit)</source>
        <translation>由服务端决定何时合成 (server_commit)</translation>
    </message>
    <message>
        <source>Speak when text is committed (commit)</source>
        <translation>提交文本后合成 (commit)</translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation>模式：</translation>
    </message>
    <message>
        <source>Audio format</source>
        <translation>音频格式</translation>
    </message>
    <message>
        <source>Format:</source>
        <translation>格式：</translation>
    </message>
    <message>
        <source>Sample rate:</source>
        <translation>采样率：</translation>
    </message>
    <message>
        <source>Bit rate (kbps):</source>
        <translation>码率（kbps）：</translation>
    </message>
    <message>
        <source>Delivery</source>
        <translation>语音表现</translation>
    </message>
    <message>
        <source>Speech rate:</source>
        <translation>语速：</translation>
    </message>
    <message>
        <source>Pitch:</source>
        <translation>音调：</translation>
    </message>
    <message>
        <source>Volume:</source>
        <translation>音量：</translation>
    </message>
    <message>
        <source>How to speak, e.g. “warm and unhurried, like a bedtime story”.</source>
        <translation>说话方式，例如“温暖从容，像讲睡前故事”。</translation>
    </message>
    <message>
        <source>Let the model refine the instructions</source>
        <translation>让模型优化指令</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>试听</translation>
    </message>
    <message>
        <source>Hello! This is how I sound with these settings.</source>
        <translation>你好！这是我在当前设置下的声音。</translation>
    </message>
    <message>
        <source>Preview voice</source>
        <translation>试听音色</translation>
    </message>
    <message>
        <source>Sample:</source>
        <translation>示例文本：</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <source>Alibaba Cloud — Beijing (China mainland)</source>
        <translation>阿里云 — 北京（中国内地）</translation>
    </message>
    <message>
        <source>Alibaba Cloud — Singapore (international)</source>
        <translation>阿里云 — 新加坡（国际）</translation>
    </message>
    <message>
        <source>Custom URL</source>
        <translation>自定义 URL</translation>
    </message>
    <message>
        <source>Offline (built-in local server)</source>
        <translation>离线（内置本地服务器）</translation>
    </message>
    <message>
        <source>Region:</source>
        <translation>地域：</translation>
    </message>
    <message>
        <source>URL:</source>
        <translation>URL：</translation>
    </message>
    <message>
        <source>Keys are per region: a Singapore key is refused in Beijing (HTTP 401) and the other way round.</source>
        <translation>密钥按地域区分：新加坡的密钥在北京会被拒绝（HTTP 401），反之亦然。</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>Forget stored key</source>
        <translation>删除已保存的密钥</translation>
    </message>
    <message>
        <source>DashScope key:</source>
        <translation>DashScope 密钥：</translation>
    </message>
    <message>
        <source>No keyring here: store the key unencrypted in a private file</source>
        <translation>本机没有密钥环：将密钥以明文存入私有文件</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>检查</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <source>Audio</source>
        <translation>音频</translation>
    </message>
    <message>
        <source>Microphone</source>
        <translation>麦克风</translation>
    </message>
    <message>
        <source>Look for devices again</source>
        <translation>重新查找设备</translation>
    </message>
    <message>
        <source>Input device:</source>
        <translation>输入设备：</translation>
    </message>
    <message>
        <source>Level:</source>
        <translation>电平：</translation>
    </message>
    <message>
        <source>Playback</source>
        <translation>播放</translation>
    </message>
    <message>
        <source>Output device:</source>
        <translation>输出设备：</translation>
    </message>
    <message>
        <source>Test tone</source>
        <translation>测试音</translation>
    </message>
    <message>
        <source>Speakers (the microphone can hear the assistant)</source>
        <translation>扬声器（麦克风能听到助手的声音）</translation>
    </message>
    <message>
        <source>Headphones</source>
        <translation>耳机</translation>
    </message>
    <message>
        <source>I listen with:</source>
        <translation>收听方式：</translation>
    </message>
    <message>
        <source>Cancel the assistant&apos;s echo from the microphone</source>
        <translation>消除麦克风中助手的回声</translation>
    </message>
    <message>
        <source>Mute the microphone while the assistant speaks (interrupt with the button or key)</source>
        <translation>助手说话时关闭麦克风（用按钮或按键打断）</translation>
    </message>
    <message>
        <source>History</source>
        <translation>历史</translation>
    </message>
    <message>
        <source>Applies from the next conversation.</source>
        <translation>从下一次对话开始生效。</translation>
    </message>
    <message>
        <source>Echo</source>
        <translation>回声</translation>
    </message>
    <message>
        <source>Run echo self-test</source>
        <translation>运行回声自检</translation>
    </message>
    <message>
        <source>Plays a short noise through the chosen output and listens with the chosen microphone, then suggests how to talk: over the speakers with echo cancellation, or with the microphone muted while the assistant speaks.</source>
        <translation>通过所选输出设备播放一段短噪声，并用所选麦克风收听，然后建议通话方式：开着扬声器并启用回声消除，或在助手说话时关闭麦克风。</translation>
    </message>
    <message>
        <source>Use the recommendation</source>
        <translation>采用建议</translation>
    </message>
    <message>
        <source>Now:</source>
        <translation>当前：</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>外观</translation>
    </message>
    <message>
        <source>Look and language</source>
        <translation>外观与语言</translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>Saved conversations keep:</source>
        <translation>保存的对话保留：</translation>
    </message>
    <message>
        <source>Theme:</source>
        <translation>主题：</translation>
    </message>
    <message>
        <source>Both change as soon as you apply. “Follow the system” uses your desktop&apos;s language and its light or dark setting, and keeps following it.</source>
        <translation>点击“应用”后立即生效。“跟随系统”会使用桌面的语言和浅色/深色设置，并随之变化。</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Chinese</source>
        <translation>中文</translation>
    </message>
    <message>
        <source>English</source>
        <translation>英语</translation>
    </message>
    <message>
        <source>German</source>
        <translation>德语</translation>
    </message>
    <message>
        <source>Italian</source>
        <translation>意大利语</translation>
    </message>
    <message>
        <source>Portuguese</source>
        <translation>葡萄牙语</translation>
    </message>
    <message>
        <source>Spanish</source>
        <translation>西班牙语</translation>
    </message>
    <message>
        <source>Japanese</source>
        <translation>日语</translation>
    </message>
    <message>
        <source>Korean</source>
        <translation>韩语</translation>
    </message>
    <message>
        <source>French</source>
        <translation>法语</translation>
    </message>
    <message>
        <source>Russian</source>
        <translation>俄语</translation>
    </message>
    <message>
        <source>Allowed: %1</source>
        <translation>允许：%1</translation>
    </message>
    <message>
        <source>Not supported by %1.</source>
        <translation>%1 不支持。</translation>
    </message>
    <message>
        <source>Only used with voice detection; push-to-talk is on.</source>
        <translation>仅在语音检测时使用；当前为按键说话。</translation>
    </message>
    <message>
        <source>Only used with server_vad.</source>
        <translation>仅在 server_vad 模式下使用。</translation>
    </message>
    <message>
        <source>%1 ignores sampling parameters.</source>
        <translation>%1 会忽略采样参数。</translation>
    </message>
    <message>
        <source>%1 does not let clients choose input transcription.</source>
        <translation>%1 不允许客户端设置输入转写。</translation>
    </message>
    <message>
        <source>Only used with the Opus format.</source>
        <translation>仅在 Opus 格式下使用。</translation>
    </message>
    <message>
        <source>Only instruct models (e.g. qwen3-tts-instruct-flash-realtime) take instructions; %1 does not.</source>
        <translation>只有指令模型（如 qwen3-tts-instruct-flash-realtime）支持指令；%1 不支持。</translation>
    </message>
    <message>
        <source>started by the app on 127.0.0.1</source>
        <translation>由应用在 127.0.0.1 上启动</translation>
    </message>
    <message>
        <source>Available while the app is running.</source>
        <translation>应用运行时可用。</translation>
    </message>
    <message>
        <source>Audio devices can be chosen while the app is running.</source>
        <translation>应用运行时可选择音频设备。</translation>
    </message>
    <message>
        <source>%1 is not allowed. Allowed: %2</source>
        <translation>不允许 %1。允许：%2</translation>
    </message>
    <message>
        <source>Fix these fields before applying: %1</source>
        <translation>应用前请修正这些字段：%1</translation>
    </message>
    <message>
        <source>The settings could not be saved: %1</source>
        <translation>无法保存设置：%1</translation>
    </message>
    <message>
        <source>Settings applied.</source>
        <translation>设置已应用。</translation>
    </message>
    <message>
        <source>Changes discarded.</source>
        <translation>已放弃更改。</translation>
    </message>
    <message>
        <source>Store the key unencrypted?</source>
        <translation>以明文保存密钥？</translation>
    </message>
    <message>
        <source>This machine has no keyring. The key will be written unencrypted to %1 (readable only by your user account, but by every program you run). Setting DASHSCOPE_API_KEY in the environment avoids this. Store it in the file?</source>
        <translation>本机没有密钥环。密钥将以明文写入 %1（仅你的用户账户可读，但你运行的所有程序都能读取）。在环境变量中设置 DASHSCOPE_API_KEY 可以避免这种情况。仍要保存到文件吗？</translation>
    </message>
    <message>
        <source>Key storage is not available.</source>
        <translation>无法保存密钥。</translation>
    </message>
    <message>
        <source>The stored key will be forgotten on Apply</source>
        <translation>点击“应用”后将删除已保存的密钥</translation>
    </message>
    <message>
        <source>•••• stored in a private file</source>
        <translation>•••• 已保存在私有文件中</translation>
    </message>
    <message>
        <source>•••• stored in the keyring</source>
        <translation>•••• 已保存在密钥环中</translation>
    </message>
    <message>
        <source>•••• from DASHSCOPE_API_KEY</source>
        <translation>•••• 来自 DASHSCOPE_API_KEY</translation>
    </message>
    <message>
        <source>Paste your DashScope API key</source>
        <translation>粘贴你的 DashScope API 密钥</translation>
    </message>
    <message>
        <source>DASHSCOPE_API_KEY is set in the environment; it takes precedence.</source>
        <translation>环境变量中设置了 DASHSCOPE_API_KEY，它优先生效。</translation>
    </message>
    <message>
        <source>Keys are kept in the system keyring; they are never shown again.</source>
        <translation>密钥保存在系统密钥环中，之后不会再显示。</translation>
    </message>
    <message>
        <source>This machine has no system keyring (Secret Service, KWallet, macOS Keychain or Windows Credential Manager). Set DASHSCOPE_API_KEY in the environment, or store the key in a private file below if you accept that risk.</source>
        <translation>本机没有系统密钥环（Secret Service、KWallet、macOS 钥匙串或 Windows 凭据管理器）。请在环境变量中设置 DASHSCOPE_API_KEY；如果你能接受风险，也可以在下方选择将密钥存入私有文件。</translation>
    </message>
    <message>
        <source>The system keyring has no working backend.</source>
        <translation>系统密钥环没有可用的后端。</translation>
    </message>
    <message>
        <source>The system keyring is not usable.</source>
        <translation>系统密钥环不可用。</translation>
    </message>
    <message>
        <source>The system keyring could not be read.</source>
        <translation>无法读取系统密钥环。</translation>
    </message>
    <message>
        <source>No keyring: %1</source>
        <translation>没有密钥环：%1</translation>
    </message>
    <message>
        <source>Without a key the app uses its built-in offline server.</source>
        <translation>没有密钥时，应用使用内置的离线服务器。</translation>
    </message>
    <message>
        <source>The API key was not stored: %1</source>
        <translation>API 密钥未保存：%1</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>The app&apos;s event loop is not running.</source>
        <translation>应用的事件循环未在运行。</translation>
    </message>
    <message>
        <source>No API key: enter your DashScope key above (or set DASHSCOPE_API_KEY), or choose Offline.</source>
        <translation>没有 API 密钥：请在上方输入 DashScope 密钥（或设置 DASHSCOPE_API_KEY），或选择离线。</translation>
    </message>
    <message>
        <source>Fix the highlighted fields first.</source>
        <translation>请先修正标出的字段。</translation>
    </message>
    <message>
        <source>Speaking…</source>
        <translation>正在朗读…</translation>
    </message>
    <message>
        <source>Preview failed: %1</source>
        <translation>试听失败：%1</translation>
    </message>
    <message>
        <source>Done.</source>
        <translation>完成。</translation>
    </message>
    <message>
        <source>The test tone could not play: %1</source>
        <translation>无法播放测试音：%1</translation>
    </message>
    <message>
        <source>With headphones the microphone cannot hear the assistant.</source>
        <translation>戴耳机时麦克风听不到助手的声音。</translation>
    </message>
    <message>
        <source>Playing a test sound and listening… (about 5 s)</source>
        <translation>正在播放测试声音并收听…（约 5 秒）</translation>
    </message>
    <message>
        <source>No audio is running.</source>
        <translation>没有正在运行的音频。</translation>
    </message>
    <message>
        <source>; microphone muted while the assistant speaks</source>
        <translation>；助手说话时麦克风静音</translation>
    </message>
    <message>
        <source>Echo cancellation off</source>
        <translation>回声消除已关闭</translation>
    </message>
    <message>
        <source>Echo cancellation bypassed: %1</source>
        <translation>回声消除已旁路：%1</translation>
    </message>
    <message>
        <source>Cancelling with %1 · delay %2 · CPU %3 ms per 10 ms frame (p95 %4)</source>
        <translation>正在用 %1 消除 · 延迟 %2 · 每 10 毫秒帧 CPU %3 毫秒（p95 %4）</translation>
    </message>
    <message>
        <source>Audio devices could not be listed: %1</source>
        <translation>无法列出音频设备：%1</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>系统默认</translation>
    </message>
    <message>
        <source>%1 (default)</source>
        <translation>%1（默认）</translation>
    </message>
    <message>
        <source>%1 (not connected)</source>
        <translation>%1（未连接）</translation>
    </message>
    <message>
        <source>The microphone could not be opened: %1</source>
        <translation>无法打开麦克风：%1</translation>
    </message>
    <message>
        <source>This build of the app cannot do that yet.</source>
        <translation>此版本的应用暂不支持该操作。</translation>
    </message>
</context>
<context>
    <name>StudioPanel</name>
    <message>
        <source>Server decides segments (server_commit)</source>
        <translation>由服务端决定分段 (server_commit)</translation>
    </message>
    <message>
        <source>One segment per paragraph (commit)</source>
        <translation>每段一个片段 (commit)</translation>
    </message>
    <message>
        <source>Type or paste text to speak…</source>
        <translation>输入或粘贴要朗读的文字…</translation>
    </message>
    <message>
        <source>Speak</source>
        <translation>朗读</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Save WAV…</source>
        <translation>保存 WAV…</translation>
    </message>
    <message>
        <source>%v of %m segments</source>
        <translation>第 %v 段，共 %m 段</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>模式</translation>
    </message>
    <message>
        <source>Nothing to speak: type some text first.</source>
        <translation>没有可朗读的内容：请先输入文字。</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Speaking…</source>
        <translation>正在朗读…</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Save speech</source>
        <translation>保存语音</translation>
    </message>
</context>
<context>
    <name>ToolCard</name>
    <message>
        <source>running…</source>
        <translation>运行中…</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>denied</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <source>timed out</source>
        <translation>已超时</translation>
    </message>
    <message>
        <source>unknown tool</source>
        <translation>未知工具</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>allowed (always, for this session)</source>
        <translation>已允许（本次会话始终允许）</translation>
    </message>
    <message>
        <source>allowed</source>
        <translation>已允许</translation>
    </message>
    <message>
        <source>Error: %1</source>
        <translation>错误：%1</translation>
    </message>
    <message>
        <source>Tool</source>
        <translation>工具</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>Arguments: %1</source>
        <translation>参数：%1</translation>
    </message>
    <message>
        <source>Show less</source>
        <translation>收起</translation>
    </message>
    <message>
        <source>Show all</source>
        <translation>显示全部</translation>
    </message>
    <message>
        <source>This tool acts rather than only reads. Let it run?</source>
        <translation>此工具会执行操作，而不只是读取。允许它运行吗？</translation>
    </message>
    <message>
        <source>Allow</source>
        <translation>允许</translation>
    </message>
    <message>
        <source>Always allow</source>
        <translation>始终允许</translation>
    </message>
    <message>
        <source>Allow this tool without asking until the app quits</source>
        <translation>在应用退出前允许此工具运行而不再询问</translation>
    </message>
    <message>
        <source>Deny</source>
        <translation>拒绝</translation>
    </message>
</context>
<context>
    <name>TranscriptView</name>
    <message>
        <source>Say something, hold the talk button (or Space), or type a message below.</source>
        <translation>说点什么，按住通话按钮（或空格键），或在下方输入消息。</translation>
    </message>
</context>
<context>
    <name>WaveformView</name>
    <message>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <source>last %1 s</source>
        <translation>最近 %1 秒</translation>
    </message>
    <message numerus="yes">
        <source>last %n s</source>
        <translation type="vanished">
            <numerusform>最近 %n 秒</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Widgets</name>
    <message>
        <source>A value is required.</source>
        <translation>必须填写一个值。</translation>
    </message>
    <message>
        <source>Enter a whole number, not %1.</source>
        <translation>请输入整数，而不是 %1。</translation>
    </message>
    <message>
        <source>%1 is not a number.</source>
        <translation>%1 不是数字。</translation>
    </message>
</context>
</TS>
