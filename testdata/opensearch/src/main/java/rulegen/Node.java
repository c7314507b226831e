package rulegen;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * One OpenSearch node on 127.0.0.1, for tests: Node DIR HTTP_PORT TRANSPORT_PORT. It prints
 * "ready" once the cluster is yellow and stops when its standard input closes.
 */
public final class Node {
    public static void main(String[] args) throws Exception {
        Path base = Path.of(args[0]);
        int http = Integer.parseInt(args[1]);
        String transport = args[2];
        Files.createDirectories(base);
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(http);
        runner.onBuild((number, settings) -> {
            settings.put("network.host", "127.0.0.1");
            settings.put("transport.port", transport);
            settings.put("discovery.type", "single-node");
            settings.put("action.auto_create_index", "true");
        }).build(OpenSearchRunner.newConfigs().basePath(base.toString()).numOfNode(1).baseHttpPort(http - 1)
                .clusterName("rulegen-test").disableESLogger());
        runner.ensureYellow();
        System.out.println("ready");
        System.out.flush();
        InputStream in = System.in;
        while (in.read() >= 0) {
            // the test holds the pipe open while it needs the node
        }
        runner.close();
        runner.clean();
        System.exit(0);
    }
}
