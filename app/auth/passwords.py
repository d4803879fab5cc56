"""The password policy: at least 8 characters, not a common password, not the username."""

from __future__ import annotations

MIN_LENGTH = 8
MAX_LENGTH = 128

# The most common passwords of 8+ characters in the public leak lists (SecLists' 10k most common, and the
# Chinese lists: CSDN/163/tianya top 100), lower-cased; shorter ones are refused by the length rule anyway.
COMMON_PASSWORDS = frozenset(["password", "12345678", "123456789", "1234567890", "qwertyuiop", "iloveyou", "password1", "11111111", "88888888", "abcd1234", "a1234567", "woaini1314", "qq123456", "1qaz2wsx", "aa123456", "asdfghjkl", "00000000", "123123123", "147258369", "987654321", "5201314520", "1q2w3e4r", "zxcvbnm123", "qwerty123", "abc12345", "admin123", "password123", "12341234", "11223344", "66666666", "12344321", "asd123456", "qwe123456", "a123456789", "123qweasd", "1q2w3e4r5t", "qwertyui", "123456789a", "1234qwer", "99999999", "22222222", "33333333", "55555555", "77777777", "44444444", "12345678910", "123456abc", "abc123456", "1234abcd", "qazwsxedc", "1qaz2wsx3edc", "zxcvbnm1", "baseball", "football", "sunshine", "princess", "welcome1", "letmein1", "trustno1", "superman", "michael1", "jennifer", "iloveyou1", "whatever", "starwars", "computer", "corvette", "mercedes", "midnight", "passw0rd", "p@ssw0rd", "p@ssword", "password!", "passpass", "internet", "jordan23", "1314520520", "5201314a", "woaini520", "woaini123", "wodemima", "aaaaaaaa", "123654789", "147852369", "741852963", "159357456", "qweasdzxc", "asdasdasd", "7758521a", "521521521", "100200300", "123321123", "111222333", "12qwaszx", "1234512345", "0123456789", "87654321", "11112222", "13131313", "1a2b3c4d", "asdf1234", "zaq12wsx", "!qaz2wsx", "qwerasdf", "q1w2e3r4", "q1w2e3r4t5", "admin1234", "administrator", "changeme", "changeme1", "default1", "student1", "student123", "teacher1", "teacher123", "welcome123", "test1234", "test12345", "testtest", "12121212", "10101010", "20202020", "19901990", "abcdefgh", "abcdefg1", "asdfasdf", "zxcvzxcv", "qazqazqaz"])


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is refused (a Chinese sentence), or None when it is acceptable."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 个字符"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 个字符"
    folded = password.lower()
    if folded in COMMON_PASSWORDS or len(set(folded)) == 1:
        return "这个密码太常见，很容易被猜到，请换一个"
    name = (username or "").strip().lower()
    if name and (folded == name or name in folded and len(name) >= 3 and len(folded) - len(name) < 4):
        return "密码不能与用户名相同或只在用户名前后加几个字符"
    return None
