"""ChatML, the prompt format of SmolLM2-Instruct (and Qwen, and many small GGUF chat models).

Matches the chat template embedded in SmolLM2-135M-Instruct's GGUF:

    {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}
    {{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}
    {% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}
    {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
"""

from __future__ import annotations

from rag.llm.messages import check_roles
from rag.llm.protocol import Message

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml(messages: list[Message]) -> str:
    """The ChatML prompt for `messages`, ending with the assistant's opening tag.

    Like the model's own template, a conversation without a system message gets SmolLM2's default one.
    """
    check_roles(messages)
    if not messages or messages[0][0] != "system":
        messages = [("system", DEFAULT_SYSTEM), *messages]
    turns = "".join(f"{IM_START}{role}\n{content}{IM_END}\n" for role, content in messages)
    return f"{turns}{IM_START}assistant\n"
