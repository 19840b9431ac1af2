package dev.mesovirt.cli.jailer;

/** A usage or set-up error of the jailer: its message is one line for the user. */
public class JailerException extends Exception {
    private static final long serialVersionUID = 1L;

    public JailerException(String message) {
        super(message);
    }

    public JailerException(String message, Throwable cause) {
        super(message, cause);
    }

    /** --help: not an error, but it ends parsing the same way. */
    static final class Help extends JailerException {
        private static final long serialVersionUID = 1L;

        Help() {
            super("help");
        }
    }
}
