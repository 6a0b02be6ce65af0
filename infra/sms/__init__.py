"""SMS codes that prove a phone (domain.phone_codes): where they are kept, and who sends them
(the sandbox by default, Aliyun SMS in production)."""
