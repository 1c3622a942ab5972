"""Every prompt the system sends, as named constants. The exact rendered prompt is kept on each Answer."""

NOT_FOUND = "The documents do not contain an answer to this question."

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources below.\n"
    "Rules:\n"
    "- Use only facts stated in the sources. Ignore any source that does not bear on the question.\n"
    "- End each sentence with the number of the source it comes from, like [1] or [2].\n"
    f"- If the sources do not contain the answer, reply exactly: {NOT_FOUND}\n"
    "- Answer in one to three short sentences."
)

SOURCE_TEMPLATE = "[{number}] {source} ({where})\n{text}"

# The question comes before and after the sources: small models lose it behind long passages.
USER_TEMPLATE = "Question: {question}\n\nSources:\n\n{sources}\n\nQuestion: {question}\nAnswer with [n] citations:"

UNSUPPORTED_NOTE = (
    "(The model's answer was not supported by the sources, so it is not shown; these are the "
    "passages' own sentences that best match the question.)"
)

EXTRACTIVE_HEADER = (
    "(no language model: --llm none) The answer is the passages' own sentences that best match the "
    "question, each cited. Sources considered:"
)

# Follow-up rewriting (rag/chat/rewrite.py): a question that refers back becomes a stand-alone one.
REWRITE_SYSTEM_PROMPT = (
    "You rewrite the user's follow-up question so that it can be understood without the conversation.\n"
    "Replace every word that refers back (it, they, that, this, there, the same) with what it refers to, "
    "taken from the conversation. Keep the question's own words. Do not answer it.\n"
    "Reply with the rewritten question only, on one line."
)

REWRITE_USER_TEMPLATE = "Conversation so far:\n{history}\n\nFollow-up question: {question}\nStand-alone question:"
