"""The requester and network side: client SDK, pricing and scheduling, keeper."""
