package dev.mesovirt.cli;

/**
 * A command line the parser rejects. The message is one line, meant to follow "mesovirt: " on stderr, and names the
 * offending option and value.
 */
public final class UsageException extends Exception {
    public UsageException(String message) {
        // No stack trace: this is a user error, not a program error, and filling one in costs start-up time.
        super(message, null, false, false);
    }
}
