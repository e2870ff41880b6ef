package org.accountability.neo4j;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilder;
import org.neo4j.harness.Neo4jBuilders;
import org.neo4j.io.ByteUnit;

/**
 * Starts a real in-process Neo4j 5 Community server with only the Bolt connector enabled.
 *
 * <pre>
 * java -cp target/classes:$(cat target/classpath.txt) org.accountability.neo4j.Launcher \
 *     [--host 127.0.0.1] [--port 0] [--data DIR] [--workdir DIR] [--pagecache-mb 256]
 * </pre>
 *
 * Prints exactly one line "BOLT bolt://HOST:PORT" to stdout once the server accepts connections,
 * then runs until stdin reaches EOF (parent closed the pipe or died) or the JVM receives SIGTERM /
 * SIGINT, and shuts the database down cleanly. Authentication is disabled: any credentials work.
 *
 * --port 0 picks a free port. --data keeps the store in DIR across runs (default: a throw-away store
 * inside the working directory). --workdir is where the harness creates its temporary home
 * (default: java.io.tmpdir); that home is deleted on clean shutdown, and so is --workdir itself
 * when it is left empty.
 */
public final class Launcher {
    private static boolean closed;

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 0;
        Path data = null;
        Path workdir = null;
        long pagecacheMb = 256;

        for (int i = 0; i < args.length; i++) {
            String key = args[i];
            if (key.equals("-h") || key.equals("--help")) {
                System.err.println("usage: Launcher [--host H] [--port N] [--data DIR] [--workdir DIR]"
                        + " [--pagecache-mb N]");
                return;
            }
            if (i + 1 >= args.length) {
                fail("missing value for " + key);
            }
            String value = args[++i];
            switch (key) {
                case "--host" -> host = value;
                case "--port" -> port = Integer.parseInt(value);
                case "--data" -> data = Path.of(value).toAbsolutePath();
                case "--workdir" -> workdir = Path.of(value).toAbsolutePath();
                case "--pagecache-mb" -> pagecacheMb = Long.parseLong(value);
                default -> fail("unknown argument " + key);
            }
        }

        Neo4jBuilder builder;
        if (workdir != null) {
            Files.createDirectories(workdir);
            builder = Neo4jBuilders.newInProcessBuilder(workdir);
        } else {
            builder = Neo4jBuilders.newInProcessBuilder();
        }
        builder = builder.withDisabledServer() // no HTTP/HTTPS connectors, Bolt only
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .withConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .withConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .withConfig(GraphDatabaseSettings.auth_enabled, false)
                .withConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pagecacheMb))
                .withConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .withConfig(GraphDatabaseSettings.udc_enabled, false)
                // Stop fast: open transactions are rolled back after 1 s instead of 10 s, and Netty's
                // graceful-shutdown quiet period otherwise adds ~10 s to every stop.
                .withConfig(GraphDatabaseSettings.shutdown_transaction_end_timeout, Duration.ofSeconds(1))
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2));
        if (data != null) {
            Files.createDirectories(data);
            builder = builder.withConfig(GraphDatabaseSettings.data_directory, data);
        }

        Neo4j neo4j = builder.build();
        Path workdirToRemove = workdir;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(neo4j, workdirToRemove), "neo4j-shutdown"));

        // Real bound port (relevant for --port 0), taken from the running server.
        int boundPort = neo4j.boltURI().getPort();
        System.out.println("BOLT bolt://" + host + ":" + boundPort);
        System.out.flush();

        waitForStdinEof();
        close(neo4j, workdir);
        System.exit(0);
    }

    private static void waitForStdinEof() {
        byte[] buf = new byte[256];
        InputStream in = System.in;
        try {
            while (in.read(buf) >= 0) {
                // Discard input; only EOF matters.
            }
        } catch (IOException e) {
            // Treat a broken stdin like EOF.
        }
    }

    // Synchronized so a SIGTERM arriving mid-shutdown waits for the first close to finish.
    private static synchronized void close(Neo4j neo4j, Path workdir) {
        if (!closed) {
            closed = true;
            try {
                neo4j.close();
                System.err.println("neo4j launcher: shut down cleanly");
            } catch (RuntimeException e) {
                System.err.println("neo4j launcher: shutdown error: " + e);
            }
            if (workdir != null) {
                try {
                    Files.deleteIfExists(workdir); // only succeeds when empty
                } catch (IOException e) {
                    // Not empty or not ours to remove: leave it.
                }
            }
        }
    }

    private static void fail(String message) {
        System.err.println("neo4j launcher: " + message);
        System.exit(2);
    }
}
