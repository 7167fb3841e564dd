// A plain Kafka Java client for the fault tests, run as a single-file program on the broker's own jars:
//   java -cp '<deploy/kafka/fetch>/*' KafkaTool.java BROKERS COMMAND ARGS...
// Commands (one JSON object per output line):
//   produce TOPIC PARTITION KEY HEX_PAYLOAD   raw bytes to one partition (acks=all) -> {"partition","offset"}
//   partitions TOPIC                          -> {"partitions": N}
//   read TOPIC MAX TIMEOUT_MS                 records from the beginning -> {"partition","offset","key",
//                                             "payload_hex","headers":{...}} per record
//   group GROUP                               -> {"state", "members": [{"client_id", "partitions": [...]}]}
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class KafkaTool {
  static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  public static void main(String[] args) throws Exception {
    String brokers = args[0];
    String command = args[1];
    Properties props = new Properties();
    props.put("bootstrap.servers", brokers);
    switch (command) {
      case "produce" -> {
        props.put("acks", "all");
        props.put("max.request.size", "67108864");
        try (var producer = new KafkaProducer<byte[], byte[]>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
          RecordMetadata m = producer.send(new ProducerRecord<>(args[2], Integer.parseInt(args[3]),
              args[4].getBytes(StandardCharsets.UTF_8), HexFormat.of().parseHex(args[5]))).get();
          System.out.println("{\"partition\": " + m.partition() + ", \"offset\": " + m.offset() + "}");
        }
      }
      case "partitions" -> {
        try (var admin = Admin.create(props)) {
          var d = admin.describeTopics(List.of(args[2])).allTopicNames().get().get(args[2]);
          System.out.println("{\"partitions\": " + d.partitions().size() + "}");
        }
      }
      case "read" -> {
        props.put("enable.auto.commit", "false");
        props.put("max.partition.fetch.bytes", "67108864");
        int max = Integer.parseInt(args[3]);
        long deadline = System.currentTimeMillis() + Long.parseLong(args[4]);
        try (var admin = Admin.create(props);
             var consumer = new KafkaConsumer<byte[], byte[]>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
          var d = admin.describeTopics(List.of(args[2])).allTopicNames().get().get(args[2]);
          List<TopicPartition> parts = new ArrayList<>();
          d.partitions().forEach(p -> parts.add(new TopicPartition(args[2], p.partition())));
          consumer.assign(parts);
          consumer.seekToBeginning(parts);
          int seen = 0;
          while (seen < max && System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
              Map<String, String> headers = new TreeMap<>();
              for (Header h : r.headers()) headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
              StringBuilder hs = new StringBuilder("{");
              headers.forEach((k, v) -> hs.append(hs.length() > 1 ? ", " : "").append(q(k)).append(": ").append(q(v)));
              hs.append('}');
              String key = r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8);
              System.out.println("{\"partition\": " + r.partition() + ", \"offset\": " + r.offset() + ", \"key\": " + q(key)
                  + ", \"payload_hex\": " + q(HexFormat.of().formatHex(r.value())) + ", \"headers\": " + hs + "}");
              ++seen;
            }
          }
        }
      }
      case "group" -> {
        try (var admin = Admin.create(props)) {
          ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(args[2])).all().get().get(args[2]);
          StringBuilder out = new StringBuilder("{\"state\": " + q(String.valueOf(g.groupState())) + ", \"members\": [");
          boolean first = true;
          for (MemberDescription m : g.members()) {
            StringBuilder ps = new StringBuilder("[");
            for (TopicPartition tp : m.assignment().topicPartitions()) ps.append(ps.length() > 1 ? ", " : "").append(tp.partition());
            ps.append(']');
            out.append(first ? "" : ", ").append("{\"client_id\": ").append(q(m.clientId())).append(", \"partitions\": ").append(ps).append('}');
            first = false;
          }
          System.out.println(out.append("]}"));
        }
      }
      default -> throw new IllegalArgumentException("unknown command " + command);
    }
  }
}
