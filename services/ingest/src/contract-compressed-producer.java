// Test helper for contract-codecs.integration.test.ts: Kafka's own Java producer (the jars of the
// local stack) sends clicks in compressed batches, as many real applications do.
// Run: java -cp '<kafka lib>/*' contract-compressed-producer.java <bootstrap> <topic>
// stdin: one message per line, `<codec>\t<key>\t<value>` (codec: gzip, snappy, lz4, zstd).
// Each codec gets its own producer, so every batch it sends is compressed with that codec.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

public class CompressedProducer {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    Map<String, KafkaProducer<String, String>> producers = new LinkedHashMap<>();
    Map<String, Integer> sent = new LinkedHashMap<>();
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      String[] parts = line.split("\t", 3);
      String codec = parts[0];
      KafkaProducer<String, String> producer = producers.computeIfAbsent(codec, c -> open(bootstrap, c));
      acks.add(producer.send(new ProducerRecord<>(topic, 0, parts[1], parts[2])));
      sent.merge(codec, 1, Integer::sum);
    }
    for (KafkaProducer<String, String> producer : producers.values()) producer.flush();
    // A failed send fails the run (exit 1 with the cause), never a silent short count.
    for (Future<RecordMetadata> ack : acks) ack.get();
    for (KafkaProducer<String, String> producer : producers.values()) producer.close();
    System.out.println("sent " + sent);
  }

  static KafkaProducer<String, String> open(String bootstrap, String codec) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("compression.type", codec);
    props.put("acks", "all");
    // Many records per batch, so the batches really are compressed blocks of several clicks.
    props.put("linger.ms", "200");
    props.put("batch.size", "262144");
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    return new KafkaProducer<>(props);
  }
}
